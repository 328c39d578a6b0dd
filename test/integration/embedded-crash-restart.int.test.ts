import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOrphanedJobs } from '../../src/jobs/orphaned-jobs.js';
import { runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { introduce, requestErasure, type Erasure } from '../helpers/crash-loop/erasure-scripts.js';
import { RetryingClient } from '../helpers/crash-loop/retrying-client.js';
import { startFakeGraph, type FakeGraph } from '../helpers/fake-graph.js';
import { freePort } from '../helpers/runner-fixtures.js';
import { createTestApp, fakePerson, TEST_APP_SECRET, testWhatsAppEnv } from '../helpers/test-app.js';
import { startCountingReceiver, type CountingReceiver } from '../helpers/worker-process.js';

/**
 * The embedded store is opened by one process at a time, so when `serve` starts on it, a job still marked active
 * was left by a process that died. A SIGKILL mid-erase must not leave that system's task waiting out the job's
 * expiry (15 minutes for connector.run): the restarted server runs it again after the queue's retry delay. Nor
 * may the lock files a killed process leaves behind block the next start, whatever pid that one gets.
 */
const SECRET = 'embedded-crash-receiver-secret-0123';

describe('the embedded store after serve is killed mid-erase', () => {
  let dir: string;
  let graph: FakeGraph;
  let receiver: CountingReceiver;
  let env: Record<string, string | undefined>;
  let server: ServeProcess | undefined;
  let port: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-embedded-crash-'));
    graph = await startFakeGraph();
    // Slow enough that the kill lands inside an erase.
    receiver = await startCountingReceiver(SECRET, 4000, () => []);
    const config = path.join(dir, 'flowguard.yaml');
    // Only the retry delay is shortened; connector.run keeps its default 15-minute expiry.
    fs.writeFileSync(
      config,
      `
queues:
  connector.run: { retryDelaySeconds: 1 }
systems:
  - id: bot
    type: http
    url: ${receiver.url}
    secret: ${SECRET}
`,
    );
    env = {
      FLOWGUARD_DATA_DIR: path.join(dir, 'data'),
      FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      FLOWGUARD_CONFIG: config,
      FLOWGUARD_LOG_LEVEL: 'info',
      ...testWhatsAppEnv(graph.url),
    };
    port = await freePort();
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await graph?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs the killed server's task again soon after the restart, not after the job's expiry; a stale lock never blocks", async () => {
    server = await startServe(env, dir, 90_000, port);
    // The CLI reaches the running server's store through its admin socket.
    const created = await runCli(['apikey', 'create', '--name', 'crash'], env, { cwd: dir });
    expect(created.code).toBe(0);
    const client = new RetryingClient(`http://127.0.0.1:${port}`, {
      appSecret: TEST_APP_SECRET,
      publicKey: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
      apiKey: (JSON.parse(created.stdout) as { key: string }).key,
      deadline: Date.now() + 150_000,
    });
    const e: Erasure = { person: fakePerson(), channel: 'webhook', accepted: false, started: false };
    receiver.held.add(e.person.waId);
    await introduce(client, e);
    await requestErasure(client, graph, e);
    await expect
      .poll(() => receiver.erases.filter((c) => c.endedAt === undefined).length, { timeout: 30_000 })
      .toBe(1);
    await server.stop('SIGKILL');
    const killedAt = Date.now();
    server = await startServe(env, dir, 90_000, port);
    const restartedAt = Date.now();

    const status = async () => {
      const list = await client.api('GET', '/v1/requests?type=erasure');
      return (JSON.parse(list.text) as { requests: { status: string }[] }).requests.map((r) => r.status);
    };
    // Well inside the 15-minute expiry: the queue's retry delay (1-2 s) and a 4 s erase, on a busy machine.
    await expect.poll(status, { timeout: 45_000, interval: 250 }).toEqual(['completed']);
    console.info(
      `embedded store: the killed erase ran again and completed ${Date.now() - restartedAt} ms after the restart`,
    );
    const [first, second] = receiver.erases;
    expect(receiver.erases).toHaveLength(2);
    expect(second!.requestId).toBe(first!.requestId);
    expect(second!.startedAt).toBeGreaterThan(killedAt);
    expect(receiver.held.has(e.person.waId)).toBe(false);
    expect(server.stdout()).toContain(
      '"msg":"jobs left active by a stopped process were failed for a retry"',
    );

    // Killed again, its lock files stay behind. A restarted container's process often gets the very pid the
    // killed one had (PID 1, or the same start-up order): a lock naming the starting process is stale too.
    await server.stop('SIGKILL');
    server = undefined;
    const locks = [
      path.join(env.FLOWGUARD_DATA_DIR!, 'store.lock'),
      path.join(env.FLOWGUARD_DATA_DIR!, 'keys', 'keystore.lock'),
    ];
    for (const lock of locks) {
      expect(fs.existsSync(lock)).toBe(true);
      fs.writeFileSync(lock, String(process.pid)); // runCli runs in this process
    }
    const keys = await runCli(['keys', 'status'], env, { cwd: dir });
    expect(keys.stderr).toBe('');
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.stdout)).toMatchObject({ keys: 0, erasure_journal: 1, shreds_pending: 0 });
    for (const lock of locks) expect(fs.existsSync(lock)).toBe(false);
  }, 240_000);

  it('fails a job left active as its expiry would: retried while attempts remain, then dead-lettered', async () => {
    const config = path.join(dir, 'orphans.yaml');
    fs.writeFileSync(config, 'queues:\n  connector.run: { retryLimit: 1, retryDelaySeconds: 1 }\n');
    const t = await createTestApp('pglite', { FLOWGUARD_CONFIG: config });
    try {
      const boss = t.ctx.queue.boss;
      const id = (await boss.send('connector.run', { requestId: crypto.randomUUID(), systemId: 'bot' }))!;
      const take = async () => {
        await expect
          .poll(async () => (await boss.fetch('connector.run')).map((j) => j.id), { timeout: 10_000 })
          .toEqual([id]);
      };
      const state = async (name: string, jobId: string) => (await boss.getJobById(name, jobId))?.state;
      await take(); // active, first attempt: the process "dies" here
      expect(await failOrphanedJobs(boss, t.ctx.database.sql, t.ctx.logger)).toBe(1);
      expect(await state('connector.run', id)).toBe('retry');
      await take(); // the last attempt, left active again
      expect(await failOrphanedJobs(boss, t.ctx.database.sql, t.ctx.logger)).toBe(1);
      expect(await state('connector.run', id)).toBe('failed');
      const dead = await boss.fetch<{ systemId: string }>('connector.run.dead');
      expect(dead.map((j) => j.data.systemId)).toEqual(['bot']);
    } finally {
      await t.close();
    }
  });
});
