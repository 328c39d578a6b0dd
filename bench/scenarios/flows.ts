import crypto from 'node:crypto';
import fs from 'node:fs';
import { decryptFlowResponse } from '../../src/lib/crypto/flow-crypto.js';
import { flowRequest, issueFlowTokens } from '../harness/flow-calls.js';
import { loadRun } from '../harness/load.js';
import { cpuSeconds, postgresCpu, postgresCpuSince } from '../harness/proc.js';
import { profiledRun } from '../harness/profiled.js';
import { benchPerson } from '../harness/people.js';
import { makePoint } from '../harness/point.js';
import { startServer } from '../harness/server.js';
import { median, round } from '../harness/stats.js';
import { createStore, withContext, type StoreKind } from '../harness/store.js';
import type { Point, Reference } from '../harness/types.js';
import { goal, storeKinds, type Scenario, type ScenarioContext, type ScenarioOutput } from './context.js';

type Action = 'ping' | 'INIT';

/**
 * The upper bound of the Flows endpoint on one core: every call costs one RSA-OAEP-2048 decryption (SHA-256),
 * so a single Node process cannot answer more calls per second than this loop does.
 */
export function rsaDecryptsPerSecond(privateKeyPem: string, seconds: number): number {
  const privateKey = crypto.createPrivateKey(privateKeyPem);
  const publicKey = crypto.createPublicKey(privateKey);
  const opts = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
  const wrapped = crypto.publicEncrypt({ key: publicKey, ...opts }, crypto.randomBytes(16));
  for (let i = 0; i < 20; i++) crypto.privateDecrypt({ key: privateKey, ...opts }, wrapped);
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let n = 0;
  let now = start;
  while (now < end) {
    crypto.privateDecrypt({ key: privateKey, ...opts }, wrapped);
    n += 1;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

/** The best of three loops of `seconds` in all: other work on the machine can only make a loop slower. */
function bestLimit(privateKeyPem: string, seconds: number): number {
  return Math.max(...[0, 1, 2].map(() => rsaDecryptsPerSecond(privateKeyPem, seconds / 3)));
}

/**
 * A c=32 point against the RSA limit: each run's throughput over the limit measured just before that run, and
 * the median of those shares (with the median run's figures).
 */
function shareOfLimit(runs: readonly { perSecond: number }[], limits: readonly number[]) {
  const shares = runs.map((r, i) => ({
    share: r.perSecond / limits[i]!,
    perSecond: r.perSecond,
    limit: limits[i]!,
  }));
  const sorted = [...shares].sort((a, b) => a.share - b.share);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function payloadFor(action: Action, tokens: string[], i: number): object {
  return action === 'ping'
    ? { version: '3.0', action: 'ping' }
    : { version: '3.0', action: 'INIT', flow_token: tokens[i % tokens.length] };
}

/** One call through fetch, decrypted, before the load: a benchmark of error answers would be worthless. */
async function checkOnce(baseUrl: string, action: Action, tokens: string[], publicKey: crypto.KeyObject) {
  const { prepared, aesKey, iv } = flowRequest(payloadFor(action, tokens, 0), publicKey);
  const res = await fetch(`${baseUrl}/flows/endpoint`, {
    method: 'POST',
    headers: prepared.headers,
    body: prepared.body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`flows ${action}: expected 200, got ${res.status}`);
  const answer = decryptFlowResponse(text, aesKey, iv) as { screen?: string; data?: { status?: string } };
  const ok = action === 'ping' ? answer.data?.status === 'active' : answer.screen === 'PRIVACY_HOME';
  if (!ok) throw new Error(`flows ${action}: unexpected answer`);
}

/**
 * The server's CPU while nothing is asked of it (after start-up has settled): its queue workers, schedules and
 * timers. In percent of one core, and PostgreSQL's in the same time.
 */
async function idleCpu(pid: number, kind: StoreKind, seconds: number) {
  await new Promise((r) => setTimeout(r, seconds * 500));
  const server0 = cpuSeconds(pid);
  const pg0 = postgresCpu();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const share = (cpu: number) => round((100 * cpu) / elapsed);
  return {
    server: share(cpuSeconds(pid) - server0),
    postgres: kind === 'postgres' ? share(postgresCpuSince(pg0)) : 0,
  };
}

async function measureStore(ctx: ScenarioContext, kind: StoreKind, limitSeconds: number, profile: boolean) {
  const store = await createStore(kind);
  try {
    const tokens = await withContext(store, (app) =>
      issueFlowTokens(
        app,
        Array.from({ length: 32 }, () => benchPerson()),
      ),
    );
    const pem = fs.readFileSync(store.env.FLOWS_PRIVATE_KEY_FILE!, 'utf8');
    const limit = bestLimit(pem, limitSeconds);
    ctx.log(`flows/${kind}: single-core RSA-OAEP-2048 limit ${Math.round(limit)} decrypts/s`);
    const server = await startServer(store);
    const points: Point[] = [];
    /** Per c=32 point (by label): the limit measured just before each of its runs, in run order. */
    const adjacent = new Map<string, number[]>();
    // Before any load: only sleeps and reads /proc, so it needs no `finally` of its own.
    const idle = await idleCpu(server.pid, kind, ctx.tiny ? 0.5 : 10);
    ctx.log(
      `flows/${kind}: idle server ${idle.server}% of a core${kind === 'postgres' ? `, PostgreSQL ${idle.postgres}%` : ''}`,
    );
    try {
      const amount = ctx.tiny ? 20 : 3000;
      for (const action of ['ping', 'INIT'] as const) {
        await checkOnce(server.baseUrl, action, tokens, store.publicKey);
        for (const connections of [1, 8, 32]) {
          const build = (n: number) =>
            Array.from(
              { length: n },
              (_, i) => flowRequest(payloadFor(action, tokens, i), store.publicKey).prepared,
            );
          const common = {
            baseUrl: server.baseUrl,
            path: '/flows/endpoint',
            connections,
            serverPid: server.pid,
          };
          if (!ctx.tiny) await loadRun({ ...common, requests: build(Math.min(amount, 300)) }); // warm-up
          const runs = [];
          const limits: number[] = [];
          for (let r = 0; r < ctx.runs; r++) {
            // The machine's speed drifts over minutes: the goal's points are held against the limit of their moment.
            if (connections === 32) limits.push(bestLimit(pem, limitSeconds));
            runs.push(await loadRun({ ...common, requests: build(amount) }));
          }
          const point = makePoint(
            `${action} c=${connections} (${kind})`,
            { store: kind, action, connections },
            runs,
          );
          ctx.log(
            `flows/${kind} ${action} c=${connections}: ${point.median.perSecond} req/s, p99 ${point.median.p99Ms} ms`,
          );
          points.push(point);
          if (limits.length) adjacent.set(point.label, limits);
        }
      }
    } finally {
      await server.stop();
    }
    const notes: string[] = [];
    if (profile) {
      for (const action of ['ping', 'INIT'] as const) {
        const requests = Array.from(
          { length: 10_000 },
          (_, i) => flowRequest(payloadFor(action, tokens, i), store.publicKey).prepared,
        );
        notes.push(
          ...(await profiledRun(store, `Flows ${action} on ${kind}, c=32`, (server) =>
            loadRun({
              baseUrl: server.baseUrl,
              path: '/flows/endpoint',
              connections: 32,
              serverPid: server.pid,
              requests,
            }),
          )),
        );
      }
    }
    return { points, limit, adjacent, notes, idle };
  } finally {
    await store.drop();
  }
}

export const flowsScenario: Scenario = {
  id: 'flows',
  title: 'Flows endpoint: encrypted Privacy Center INIT (valid token) and ping',
  async run(ctx): Promise<ScenarioOutput> {
    const kinds = storeKinds(ctx);
    const points: Point[] = [];
    const references: Reference[] = [];
    const goals = [];
    const profileLines: string[] = [];
    for (const kind of kinds) {
      const m = await measureStore(
        ctx,
        kind,
        ctx.tiny ? 0.1 : 2,
        !ctx.tiny && kind === kinds[kinds.length - 1],
      );
      profileLines.push(...m.notes);
      points.push(...m.points);
      references.push({
        label: `single-core RSA-OAEP-2048 decrypts/s (measured before the ${kind} run)`,
        value: round(m.limit),
        unit: '1/s',
      });
      references.push({
        label: `idle flowguard serve (${kind}): server CPU, % of one core`,
        value: m.idle.server,
        unit: '%',
      });
      if (kind === 'postgres')
        references.push({
          label: 'idle flowguard serve (postgres): PostgreSQL CPU, % of one core',
          value: m.idle.postgres,
          unit: '%',
        });
      for (const p of m.points.filter((x) => x.params.connections === 32)) {
        const limits = m.adjacent.get(p.label)!;
        references.push({
          label: `single-core RSA-OAEP-2048 decrypts/s next to the runs of ${p.label} (median)`,
          value: round(median(limits)),
          unit: '1/s',
        });
        const { share, perSecond, limit } = shareOfLimit(p.runs, limits);
        goals.push(
          goal(
            `${p.label}: throughput vs RSA limit`,
            '>= 60%',
            `${Math.round(share * 100)}% (median run: ${round(perSecond)} of ${Math.round(limit)}/s)`,
            share >= 0.6,
          ),
          goal(`${p.label}: p99`, '< 50 ms', `${p.median.p99Ms} ms`, p.median.p99Ms < 50),
        );
      }
    }
    return {
      points,
      references,
      goals,
      notes: [
        "Closed loop (autocannon, keep-alive): each connection sends its next call when the previous one is answered. Every call is a fresh RSA-OAEP + AES-GCM envelope, signed with X-Hub-Signature-256; INIT uses 32 valid flow tokens in turn and reads the person's summary from the store.",
        "The limit is one core's worth of RSA, measured in the harness while the server idles: once before each store's points and, for the goals, just before each run of a c=32 point (each time the best of three loops of 2/3 s), because the machine's speed drifts from minute to minute. A c=32 goal takes the median of its runs' shares of those limits.",
        "The server is one Node process: its event loop unwraps a lone call's key itself and hands those of calls arriving together to its RSA thread, and INIT calls arriving together read their tokens with one statement. The event loop, the RSA thread, the load generator and (for PostgreSQL) the database share the cores of this machine.",
        ...profileLines,
      ],
    };
  },
};
