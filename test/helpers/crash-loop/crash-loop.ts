import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKeyring } from '../../../src/lib/crypto/index.js';
import { openDatabase, type Database } from '../../../src/lib/db/database.js';
import { openKeyStore } from '../../../src/modules/keys/index.js';
import { runCli } from '../cli.js';
import { startFakeGraph, type FakeGraph } from '../fake-graph.js';
import { freePort } from '../runner-fixtures.js';
import { createPgDatabase, fakePerson, TEST_APP_SECRET, testWhatsAppEnv } from '../test-app.js';
import { BusinessSystems } from './business-systems.js';
import { atCrash, atEnd } from './crash-checks.js';
import { CHANNELS, introduce, requestErasure, type Erasure } from './erasure-scripts.js';
import { RetryingClient, type ClientStats } from './retrying-client.js';
import { ServerLoop } from './server-loop.js';

/**
 * Reliability: a stream of erasures across connectors while `flowguard serve` is SIGKILLed at random moments
 * and restarted. Shared by the integration test (small) and the stress run (full size); see the test files.
 */

export interface CrashLoopOptions {
  store: 'postgres' | 'pglite';
  erasures: number;
  /** People who write to the business but are never erased: nothing of theirs may go. */
  controls: number;
  /** SIGKILLs while the requests stream in, each at a random point of the stream. */
  kills: number;
  /** One more SIGKILL after the last request was accepted, while the systems' tasks still run. */
  tailKill: boolean;
  concurrency: number;
  /** How long the business's own service takes per erase (a kill often lands in one). */
  eraseMs: number;
  /**
   * connector.run expiry: how long a killed server's running task waits before a live one runs it again on
   * PostgreSQL. Undefined: the default (15 minutes), as the embedded store does not wait for it.
   */
  expireInSeconds?: number | undefined;
  /** The whole run must end by then. */
  timeoutMs: number;
}

export interface CrashLoopReport {
  faults: string[];
  erasures: number;
  requests: number;
  restarts: number;
  /**
   * The kills: how many erasures the client had been told were carried out, the system tasks not done yet, and
   * how long the server was gone (the crash checks, a pause, and the start-up until the banner).
   */
  kills: { acknowledged: number; tasksOpen: number; downMs: number }[];
  /** From the stream's first call until the last erasure was acknowledged (kills and restarts included). */
  streamMs: number;
  client: ClientStats;
  /** From the last restart's banner until the API showed every request completed. */
  completeAfterLastRestartMs: number;
  startupMs: number[];
  erasesAskedTwice: number;
  auditRows: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

function distinctPeople(n: number, used: Set<string>) {
  const out: ReturnType<typeof fakePerson>[] = [];
  while (out.length < n) {
    const p = fakePerson();
    if (used.has(p.waId)) continue;
    used.add(p.waId);
    out.push(p);
  }
  return out;
}

export async function runCrashLoop(o: CrashLoopOptions): Promise<CrashLoopReport> {
  const deadline = Date.now() + o.timeoutMs;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-crash-'));
  const business = new BusinessSystems(o.eraseMs);
  let graph: FakeGraph | undefined;
  let ownPg: { url: string; drop: () => Promise<void> } | undefined;
  let server: ServerLoop | undefined;
  let inspect: Database | undefined;
  try {
    graph = await startFakeGraph();
    await business.start();
    if (o.store === 'postgres') ownPg = await createPgDatabase();
    const masterKey = crypto.randomBytes(32);
    const keyring = createKeyring(masterKey);
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const config = path.join(dir, 'flowguard.yaml');
    const expiry = o.expireInSeconds ? `, expireInSeconds: ${o.expireInSeconds}` : '';
    fs.writeFileSync(
      config,
      `
queues:
  maintenanceIntervalSeconds: 1
  connector.run: { retryLimit: 10, retryDelaySeconds: 1${expiry} }
  notify.send: { retryDelaySeconds: 1${expiry} }
  keys.shred: { retryDelaySeconds: 1${expiry} }
${business.systemsYaml()}`,
    );
    const dataDir = path.join(dir, 'data');
    const env: Record<string, string | undefined> = {
      DATABASE_URL: ownPg?.url,
      FLOWGUARD_DATA_DIR: dataDir,
      FLOWGUARD_MASTER_KEY: masterKey.toString('base64'),
      FLOWGUARD_CONFIG: config,
      FLOWGUARD_LOG_LEVEL: 'info',
      ...testWhatsAppEnv(graph.url),
      FLOWS_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    const created = await runCli(['apikey', 'create', '--name', 'crash-loop'], env, { cwd: dir });
    if (created.code !== 0) throw new Error(`apikey create: ${created.stderr}`);
    const apiKey = (JSON.parse(created.stdout) as { key: string }).key;
    const systems = ['app-db', 'support-db', 'cache', 'bot'];

    /** The own store as the crash left it: PostgreSQL directly; the embedded store through a copy of its files. */
    const withStore = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
      if (o.store === 'postgres') {
        inspect ??= await openDatabase({ databaseUrl: ownPg!.url, dataDir });
        return fn(inspect);
      }
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-crash-copy-'));
      try {
        fs.cpSync(path.join(dataDir, 'pgdata'), path.join(copy, 'pgdata'), { recursive: true });
        const db = await openDatabase({ databaseUrl: undefined, dataDir: copy });
        try {
          return await fn(db);
        } finally {
          await db.close();
        }
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
    };

    const port = await freePort();
    server = new ServerLoop(env, dir, port);
    await server.start();
    const client = new RetryingClient(`http://127.0.0.1:${port}`, {
      appSecret: TEST_APP_SECRET,
      publicKey,
      apiKey,
      deadline,
    });

    const used = new Set<string>();
    const track = (p: ReturnType<typeof fakePerson>, i: number): Erasure => ({
      person: p,
      channel: CHANNELS[i % CHANNELS.length]!,
      accepted: false,
      started: false,
    });
    const controls = distinctPeople(o.controls, used).map(track);
    const people = distinctPeople(o.erasures, used).map(track);
    for (const c of controls) {
      await business.seed(c.person);
      await introduce(client, c);
    }

    const faults: string[] = [];
    const kills: CrashLoopReport['kills'] = [];
    const acknowledged = () => people.filter((e) => e.erasedAt !== undefined).length;
    let streamDone = false;

    async function crash(): Promise<void> {
      const killedAt = Date.now();
      await server!.kill();
      await withStore(async ({ db }) => {
        const open = await db
          .selectFrom('request_tasks')
          .select('status')
          .where('status', '!=', 'done')
          .execute();
        kills.push({ acknowledged: acknowledged(), tasksOpen: open.length, downMs: 0 });
        for (const f of await atCrash(db, keyring, people, systems, killedAt))
          faults.push(`kill ${kills.length}: ${f}`);
      });
      await pause(between(300, 1500)); // down: the clients' calls are refused meanwhile
      await server!.start();
      kills.at(-1)!.downMs = Date.now() - killedAt;
    }

    const killer = (async () => {
      const marks = Array.from({ length: o.kills }, () => Math.floor(between(0.08, 0.92) * o.erasures)).sort(
        (a, b) => a - b,
      );
      let before = -1;
      for (const mark of marks) {
        // Each kill lands in a live stream: at least one more erasure went through since the last restart.
        while ((acknowledged() < mark || acknowledged() === before) && !streamDone) await pause(20);
        before = acknowledged();
        await pause(between(0, 400));
        await crash();
      }
      if (!o.tailKill) return;
      while (!streamDone) await pause(20);
      await pause(between(0, 300));
      await crash();
    })();

    let next = 0;
    const worker = async () => {
      while (next < people.length) {
        const e = people[next++]!;
        await business.seed(e.person);
        await introduce(client, e);
        await pause(between(0, 200));
        await requestErasure(client, graph!, e);
      }
    };
    const streamStarted = Date.now();
    let streamEnded = 0;
    const stream = Promise.all(Array.from({ length: o.concurrency }, worker)).finally(() => {
      streamDone = true;
      streamEnded = Date.now();
    });
    // The killer always finishes its restart before a failed stream is reported (no server left behind).
    for (const r of await Promise.allSettled([stream, killer])) if (r.status === 'rejected') throw r.reason;
    const streamMs = streamEnded - streamStarted;

    // Every request completes (the API is the judge), then the deleted subjects' keys are shredded.
    const ids = people.flatMap((e) => (e.requestId ? [e.requestId] : []));
    for (;;) {
      const list = await client.api('GET', '/v1/requests?type=erasure&limit=1000');
      const requests = (JSON.parse(list.text) as { requests: { status: string }[] }).requests;
      if (requests.length >= people.length && requests.every((r) => r.status === 'completed')) break;
      if (Date.now() > deadline)
        throw new Error(
          `requests not completed: ${JSON.stringify(requests.filter((r) => r.status !== 'completed'))}`,
        );
      await pause(200);
    }
    const completeAfterLastRestartMs = Date.now() - server.lastStartedAt;
    for (const id of ids) {
      const view = JSON.parse((await client.api('GET', `/v1/requests/${id}`)).text) as { status: string };
      if (view.status !== 'completed') faults.push(`request ${id} answers ${view.status}`);
    }
    for (;;) {
      const status = await runCli(['keys', 'status'], env, { cwd: dir });
      if ((JSON.parse(status.stdout) as { shreds_pending: number }).shreds_pending === 0) break;
      if (Date.now() > deadline) throw new Error(`keys not shredded: ${status.stdout}`);
      await pause(300);
    }
    const exit = await server.stop();
    if (exit !== 0) faults.push(`serve exited with ${exit} on SIGTERM`);
    for (const p of [...people, ...controls].map((e) => e.person))
      if (server.output().includes(p.waId)) faults.push('a phone number reached the server output');

    await inspect?.close();
    inspect = undefined;
    const end = await withStoreAndKeys(o.store === 'postgres' ? ownPg!.url : undefined, dataDir, (db, keys) =>
      atEnd(db, keyring, keys, business, people, controls, systems),
    );
    faults.push(...end.faults);
    const audit = await runCli(['audit', 'verify'], env, { cwd: dir });
    if (audit.code !== 0) faults.push(`audit verify exited ${audit.code}: ${audit.stdout}${audit.stderr}`);
    return {
      faults,
      erasures: people.length,
      requests: end.figures.requests,
      restarts: server.restarts,
      kills,
      streamMs,
      client: client.stats,
      completeAfterLastRestartMs,
      startupMs: server.startupMs,
      erasesAskedTwice: end.figures.erasesAskedTwice,
      auditRows: audit.code === 0 ? (JSON.parse(audit.stdout) as { rows: number }).rows : 0,
    };
  } finally {
    await server?.stop();
    await inspect?.close();
    await business.close();
    await graph?.close();
    await ownPg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The stopped server's store and key store, opened as the CLI would open them. */
async function withStoreAndKeys<T>(
  databaseUrl: string | undefined,
  dataDir: string,
  fn: (db: Database['db'], keys: Awaited<ReturnType<typeof openKeyStore>>) => Promise<T>,
): Promise<T> {
  const database = await openDatabase({ databaseUrl, dataDir });
  const keys = await openKeyStore(
    { keyStoreUrl: undefined, databaseUrl, dataDir },
    { warn: () => undefined },
  );
  try {
    return await fn(database.db, keys);
  } finally {
    await keys.close();
    await database.close();
  }
}
