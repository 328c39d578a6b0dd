import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import {
  requestView,
  SOON,
  startAlertReceiver,
  systemOf,
  untilStatus,
  verifiedRequest,
  writeConfig,
  type AlertReceiver,
} from '../helpers/runner-fixtures.js';
import { createTestApp, fakePerson, hasService, type TestApp } from '../helpers/test-app.js';
import { phoneOf, type Person } from '../helpers/webhook-payloads.js';
import { client, createAdmin, signIn } from './admin.fixtures.js';
import { dataMapOf, startFaultWorld, type FaultWorld } from './connector-faults.fixtures.js';
import { cliFor, knownPerson } from './requests.fixtures.js';

/**
 * A system cut off, slow, or answering 5xx/429: the task retries with backoff (and not before a Retry-After), a
 * fault that outlasts the attempts dead-letters it (the request fails, an alert goes out, the dead-letter queue
 * lists it), nothing is lost meanwhile, and once the fault ends a replay (CLI or admin API) completes the
 * request: the completion rate is back at 1 and the person is gone from every system. One flowguard holds the
 * whole matrix (connector-faults.fixtures.ts): one erasure meets every fault at once.
 */
const RETRY_LIMIT = 2;
const ATTEMPTS = RETRY_LIMIT + 1;

const everything = hasService('postgres') && hasService('mariadb') && hasService('redis');

function metricValue(text: string, name: string, tenant: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{tenant="${tenant}"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe.runIf(everything)('connector faults: retries, dead letters, replay, nothing lost', () => {
  let world: FaultWorld;
  let t: TestApp;
  let dir: string;
  let alerts: AlertReceiver;
  let cli: Awaited<ReturnType<typeof cliFor>>;
  let operator: ReturnType<typeof client>;
  const p: Person = fakePerson();
  let request: { id: string; reference: string };

  const completionRate = async () =>
    metricValue(
      (await t.app.inject({ method: 'GET', url: '/metrics' })).body,
      'flowguard_dsar_completion_rate',
      'default',
    );
  const heldBy = async () =>
    Object.fromEntries(await Promise.all(world.cells.map(async (c) => [c.id, await c.held(p)] as const)));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-faults-'));
    [world, alerts] = await Promise.all([startFaultWorld(), startAlertReceiver()]);
    const file = writeConfig(
      dir,
      `queues:
  connector.run: { retryLimit: ${RETRY_LIMIT}, retryDelaySeconds: 1 }
alerts:
  webhookUrl: ${alerts.url}
${dataMapOf(world.cells)}`,
    );
    // The matrix needs PostgreSQL anyway; flowguard's own store on it starts faster than PGlite.
    t = await createTestApp('postgres', { FLOWGUARD_CONFIG: file });
    await startConnectorWorker(t.ctx);
    cli = await cliFor(t, { FLOWGUARD_CONFIG: file });
    const admin = await createAdmin(t, 'operator');
    operator = client(t, await signIn(t, admin));
  }, 120_000);

  afterAll(async () => {
    await cli?.close();
    await t?.close();
    await alerts?.close();
    await world?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('retries every faulty system with backoff, honours Retry-After, and dead-letters what outlasts the attempts', async () => {
    await knownPerson(t, p);
    for (const c of world.cells) await c.seed(p);
    for (const c of world.cells) c.fault();
    const started = Date.now();
    request = await verifiedRequest(t, 'erasure', p);

    const failed = await untilStatus(t, request.id, 'failed', 60_000);
    const elapsed = Date.now() - started;
    expect(failed.error_code).toBe('SYSTEMS_DEAD');
    // Three attempts, waiting 1-2 s and then 2-4 s (exponential backoff with jitter) or longer (Retry-After).
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    for (const c of world.cells) {
      const task = systemOf(failed, c.id);
      if (c.outlasts) {
        expect(task).toMatchObject({
          id: c.id,
          status: 'dead',
          attempts: ATTEMPTS,
          last_error: c.error,
        });
      } else {
        // Slow within the timeouts: done at the first attempt; a single 429: done at the second.
        expect(task).toMatchObject({
          id: c.id,
          status: 'done',
          attempts: c.retryAfter ? 2 : 1,
          last_error: null,
        });
      }
    }

    // Retry-After: the next attempt never starts before the system said.
    for (const c of world.cells.filter((x) => x.retryAfter)) {
      const starts = c.attemptStarts!();
      expect(starts.length, c.id).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < starts.length; i++) {
        expect(starts[i]! - starts[i - 1]!, `${c.id} attempt ${i + 1}`).toBeGreaterThanOrEqual(
          c.retryAfter! * 1000,
        );
      }
    }

    // Nothing lost: what the dead systems hold waits for the replay; the others are clean.
    const held = await heldBy();
    for (const c of world.cells) expect([c.id, held[c.id]]).toEqual([c.id, c.outlasts ? 1 : 0]);

    // One alert per dead system, naming the request and the system, never the person.
    const dead = world.cells.filter((c) => c.outlasts).map((c) => c.id);
    await expect
      .poll(() => alerts.received.filter((a) => a.text.includes(request.reference)).length, SOON)
      .toBe(dead.length);
    for (const id of dead) {
      const alert = alerts.received.find((a) => a.text.includes(request.reference) && a.text.includes(id));
      expect(alert, id).toBeDefined();
      for (const secret of [p.e164, p.waId, p.name, p.bsuid]) expect(alert!.text).not.toContain(secret);
    }

    // The dead-letter queue lists one letter per dead system, in the admin API and the CLI.
    const listed = await operator.get('/admin/api/dead-letters');
    expect(listed.statusCode).toBe(200);
    const letters = listed
      .json<{ dead_letters: { queue: string; data: { requestId: string; systemId: string } }[] }>()
      .dead_letters.filter((l) => l.data.requestId === request.id);
    expect(letters.every((l) => l.queue === 'connector.run.dead')).toBe(true);
    expect(letters.map((l) => l.data.systemId).sort()).toEqual([...dead].sort());
    const fromCli = await cli.run('dlq', 'list');
    expect(fromCli.code).toBe(0);
    expect(
      (JSON.parse(fromCli.stdout) as { data: { requestId: string } }[]).filter(
        (l) => l.data.requestId === request.id,
      ),
    ).toHaveLength(dead.length);

    expect(await completionRate()).toBe(0);
  });

  it('replays the dead letters once the faults end: the request completes and the person is gone', async () => {
    for (const c of world.cells) c.heal();
    const listed = (await operator.get('/admin/api/dead-letters')).json<{
      dead_letters: { id: string; data: { requestId: string; systemId: string } }[];
    }>();
    const letters = listed.dead_letters.filter((l) => l.data.requestId === request.id);
    expect(letters.length).toBe(world.cells.filter((c) => c.outlasts).length);
    // One through the CLI, the others through the admin API, all at once.
    const [first, ...rest] = letters;
    const replays = await Promise.all([
      cli.run('dlq', 'retry', first!.id).then((r) => r.code),
      ...rest.map(async (l) => (await operator.post(`/admin/api/dead-letters/${l.id}/retry`)).statusCode),
    ]);
    expect(replays).toEqual([0, ...rest.map(() => 200)]);

    const done = await untilStatus(t, request.id, 'completed', 30_000);
    for (const c of world.cells) {
      expect(systemOf(done, c.id)).toMatchObject({
        id: c.id,
        status: 'done',
        last_error: null,
      });
      if (c.outlasts) expect(systemOf(done, c.id).attempts, c.id).toBe(ATTEMPTS + 1);
    }
    expect(await completionRate()).toBe(1);

    // Nobody left: every system, and flowguard's own store.
    const held = await heldBy();
    expect(
      Object.values(held).every((n) => n === 0),
      JSON.stringify(held),
    ).toBe(true);
    expect(await t.ctx.subjects.find(t.ctx.database.db, 'default', [phoneOf(p)])).toBeUndefined();
    const left = (await operator.get('/admin/api/dead-letters')).json<{
      dead_letters: { data: { requestId: string } }[];
    }>();
    expect(left.dead_letters.some((l) => l.data.requestId === request.id)).toBe(false);
    expect((await requestView(t, request.id)).status).toBe('completed');
  });
});
