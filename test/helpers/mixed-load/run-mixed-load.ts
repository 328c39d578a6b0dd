import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import { runCli, startServe, type ServeProcess } from '../cli.js';
import { startFakeGraph, type FakeGraph } from '../fake-graph.js';
import { writeConfig } from '../runner-fixtures.js';
import { createPgDatabase, TEST_APP_SECRET, testWhatsAppEnv } from '../test-app.js';
import { BusinessSystems } from './business-systems.js';
import { LoadClient } from './load-client.js';
import { LoadStats, type Failure, type KindFigures } from './load-stats.js';
import { MemorySampler, type MemoryReport } from './memory-sampler.js';
import { deliverAgain, firstContact, forgedDelivery, writeIn } from './message-ops.js';
import { active, known, Population, type LoadPerson } from './population.js';
import {
  eraseInFlow,
  eraseThroughApi,
  replayUsedToken,
  visitPrivacyCenter,
  type PrivacyDeps,
} from './privacy-ops.js';
import { verifyStore, type StoreFigures } from './verify-store.js';

/**
 * Mixed traffic against a real `flowguard serve` process on PostgreSQL with a data map of a PostgreSQL database
 * and Redis, over HTTP, for a given time: a growing population of fake people writing in (and Meta delivering
 * again), opening the Privacy Center Flow, asking for their data (export downloaded by the business) or its
 * deletion (in the Flow, or entered through the API and confirmed by a button tap), plus a few requests that
 * must be refused. Then the store and the systems are checked against everything flowguard acknowledged, and
 * the server's memory over the run is summarised.
 */

export interface MixedLoadOptions {
  durationMs: number;
  /** Client call sequences in flight at once. */
  concurrency: number;
  sampleEveryMs: number;
  /** Memory samples before this are left out of the comparison (start-up, caches filling). */
  warmupMs: number;
  /** Progress lines of a long run (default: console.info). */
  log?(line: string): void;
}

export interface MixedLoadReport {
  seconds: number;
  requests: number;
  figures: KindFigures[];
  errors: Failure[];
  lostWrites: Failure[];
  expectedRefusals: Record<string, number>;
  store: StoreFigures;
  memory: MemoryReport;
  memoryFailures: string[];
  /** Error- and fatal-level lines of the server's log (flowguard's logs carry no personal data). */
  serverErrors: string[];
  serverExitCode: number | null;
  summary: string;
}

type Op = (d: PrivacyDeps, lp: LoadPerson) => Promise<void>;

/**
 * The mix, by share of client call sequences: who it needs and what it does. About a quarter brings a new
 * person in and 3 % erase someone, so the population keeps growing.
 */
const MIX: { share: number; who: (lp: LoadPerson) => boolean; op: Op }[] = [
  { share: 0.5, who: active, op: writeIn },
  { share: 0.07, who: (lp) => lp.lastDelivery !== undefined, op: deliverAgain },
  { share: 0.09, who: known, op: (d, lp) => visitPrivacyCenter(d, lp, false) },
  { share: 0.06, who: known, op: (d, lp) => visitPrivacyCenter(d, lp, true) },
  { share: 0.02, who: known, op: eraseInFlow },
  { share: 0.01, who: known, op: eraseThroughApi },
  { share: 0.01, who: (lp) => lp.usedToken !== undefined, op: replayUsedToken },
];
const FORGED_SHARE = 0.01;

/** One client call sequence; when nobody idle fits the one drawn, a new person writes in instead. */
async function oneOperation(d: PrivacyDeps, population: Population): Promise<void> {
  let r = Math.random();
  if (r < FORGED_SHARE) return forgedDelivery(d, population.stranger());
  r -= FORGED_SHARE;
  const pick = MIX.find((m) => (r -= m.share) < 0);
  let lp = pick ? population.take(pick.who) : undefined;
  try {
    if (pick && lp) return await pick.op(d, lp);
    lp = population.create();
    return await firstContact(d, lp);
  } finally {
    if (lp) population.release(lp);
  }
}

/**
 * The first worker starts with every kind of call sequence once, on people of its own, so even a short run
 * on a slow machine covers the whole mix; then it draws from the mix like the others.
 */
async function tour(d: PrivacyDeps, population: Population): Promise<void> {
  const a = population.create();
  await firstContact(d, a);
  await writeIn(d, a);
  await deliverAgain(d, a);
  await visitPrivacyCenter(d, a, false);
  await visitPrivacyCenter(d, a, true);
  await eraseInFlow(d, a);
  await replayUsedToken(d, a);
  population.release(a);
  const b = population.create();
  await firstContact(d, b);
  await eraseThroughApi(d, b);
  population.release(b);
  await forgedDelivery(d, population.stranger());
}

function summarise(r: Omit<MixedLoadReport, 'summary'>): string {
  const perSecond = Math.round((r.requests / r.seconds) * 10) / 10;
  const kinds = r.figures
    .map((f) => `${f.kind} ${f.perSecond}/s p50 ${f.p50Ms} p99 ${f.p99Ms} ms`)
    .join('; ');
  const m = r.memory;
  return (
    `mixed load: ${Math.round(r.seconds)} s, ${r.requests} requests (${perSecond}/s), ` +
    `${r.errors.length} errors, ${r.lostWrites.length} lost writes, ` +
    `refused as expected: ${
      Object.entries(r.expectedRefusals)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }; ` +
    `people ${r.store.people} (${r.store.erased} erased), messages held ${r.store.messages}; ` +
    `heap ${m.heapFirstMb} → ${m.heapLastMb} MB (${m.heapRatio}x), rss ${m.rssFirstMb} → ${m.rssLastMb} MB ` +
    `(${m.rssRatio}x) over ${m.samples} samples\n  ${kinds}`
  );
}

export async function runMixedLoad(opts: MixedLoadOptions): Promise<MixedLoadReport> {
  const log = opts.log ?? ((line: string) => console.info(line));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-load-'));
  const systems = new BusinessSystems();
  let graph: FakeGraph | undefined;
  let store: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  let serve: ServeProcess | undefined;
  try {
    await systems.start();
    graph = await startFakeGraph();
    store = await createPgDatabase();
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = path.join(dir, 'flows-private.pem');
    fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const env = {
      HOME: dir,
      FLOWGUARD_DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: store.url,
      FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      FLOWGUARD_CONFIG: writeConfig(dir, systems.yaml()),
      FLOWGUARD_LOG_LEVEL: 'warn',
      ...testWhatsAppEnv(graph.url),
      FLOWS_PRIVATE_KEY_FILE: keyFile,
    };
    const created = await runCli(['apikey', 'create', '--name', 'mixed-load'], env, { cwd: dir });
    if (created.code !== 0) throw new Error(`apikey create failed: ${created.stderr}`);
    const apiKey = (JSON.parse(created.stdout) as { key: string }).key;
    serve = await startServe(env, dir);

    const stats = new LoadStats();
    const population = new Population();
    const client = new LoadClient(serve.baseUrl, { appSecret: TEST_APP_SECRET, publicKey, apiKey, stats });
    const deps: PrivacyDeps = { client, stats, systems, graph };
    const sampler = new MemorySampler(serve.child.pid!, serve.baseUrl);
    await sampler.sample();
    sampler.start(opts.sampleEveryMs);
    const t0 = performance.now();
    const deadline = t0 + opts.durationMs;
    let lastNote = t0;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async (_, worker) => {
        if (worker === 0) await tour(deps, population);
        while (performance.now() < deadline) {
          await oneOperation(deps, population);
          if (performance.now() - lastNote > 60_000) {
            lastNote = performance.now();
            const heap = sampler.samples.at(-1)?.heapBytes ?? 0;
            log(
              `mixed load: ${Math.round((lastNote - t0) / 1000)} s, ${stats.requests} requests, ` +
                `${population.people.length} people, ${stats.errors.length} errors, heap ${Math.round(heap / 1048576)} MB`,
            );
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    await sampler.stop();

    const storeFigures = await verifyStore({ env, dir }, population, systems, stats);
    const serverExitCode = await serve.stop('SIGTERM');
    const serverErrors = `${serve.stdout()}\n${serve.stderr()}`
      .split('\n')
      .filter((l) => /"level":(50|60)\b/.test(l));
    const report = {
      seconds,
      requests: stats.requests,
      figures: stats.figures(seconds),
      errors: stats.errors,
      lostWrites: stats.lostWrites,
      expectedRefusals: Object.fromEntries(stats.expectedRefusals),
      store: storeFigures,
      memory: sampler.report(opts.warmupMs),
      memoryFailures: sampler.failures,
      serverErrors,
      serverExitCode,
    };
    return { ...report, summary: summarise(report) };
  } finally {
    await serve?.stop('SIGKILL');
    await store?.drop().catch(() => {});
    await graph?.close();
    await systems.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What every mixed-load run must show, however long: no call failed, nothing acknowledged was lost, the
 * server logged no error and exited cleanly on SIGTERM, and the memory checks passed.
 */
export function expectCleanRun(report: MixedLoadReport): void {
  expect(report.errors).toEqual([]);
  expect(report.lostWrites).toEqual([]);
  expect(report.serverErrors).toEqual([]);
  expect(report.serverExitCode).toBe(0);
  expect(report.memoryFailures).toEqual([]);
}
