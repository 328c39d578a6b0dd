import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  SOON,
  startAlertReceiver,
  systemOf,
  untilStatus,
  requestView,
  verifiedRequest,
  writeConfig,
  type AlertReceiver,
} from '../helpers/runner-fixtures.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  hasService,
  storeKinds,
  type TestApp,
} from '../helpers/test-app.js';
import { cliFor } from './requests.fixtures.js';

/**
 * Data-map tasks through the real queue worker when a system fails: a PostgreSQL system behind a fault proxy
 * is cut, the task retries with backoff, dies after the last attempt, the request fails, an alert goes out and
 * the job waits in the dead-letter queue; once the system is back, `flowguard dlq retry` finishes the request.
 * A permanent failure (a missing table) skips the retries.
 */
describe.runIf(hasService('postgres'))('dead-letter queue of data-map tasks', () => {
  describe.each(storeKinds())('on %s', (kind) => {
    let t: TestApp;
    let dir: string;
    let biz: { url: string; drop: () => Promise<void> };
    let pgc: pg.Client;
    let proxy: FaultProxy;
    let alerts: AlertReceiver;
    let cli: Awaited<ReturnType<typeof cliFor>>;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-dlq-'));
      biz = await createPgDatabase();
      pgc = new pg.Client({ connectionString: biz.url });
      await pgc.connect();
      await pgc.query(`
        create table sessions (id serial primary key, whatsapp_id text not null, state text);
        create index on sessions (whatsapp_id);
        create table notes (id serial primary key, phone text not null, body text);
        create index on notes (phone);`);
      proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
      alerts = await startAlertReceiver();
      const file = writeConfig(
        dir,
        `
queues:
  connector.run: { retryLimit: 2, retryDelaySeconds: 1 }
alerts:
  webhookUrl: ${alerts.url}
systems:
  - id: app-db
    type: postgres
    url: ${biz.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`)}
    collections:
      - { table: sessions, identity: { column: whatsapp_id, format: digits } }
  - id: notes-db
    type: postgres
    url: ${biz.url}
    collections:
      - { table: notes, identity: { column: phone, format: e164 } }
`,
      );
      t = await createTestApp(kind, { FLOWGUARD_CONFIG: file });
      await startConnectorWorker(t.ctx);
      cli = await cliFor(t, { FLOWGUARD_CONFIG: file });
    }, 120_000);

    afterAll(async () => {
      await cli?.close();
      await t?.close();
      await proxy?.close();
      await alerts?.close();
      await pgc?.end();
      await biz?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function seed(p: ReturnType<typeof fakePerson>) {
      await pgc.query('insert into sessions (whatsapp_id, state) values ($1, $2)', [p.waId, 'booking']);
      await pgc.query('insert into notes (phone, body) values ($1, $2)', [p.e164, 'called back']);
    }
    const rows = async (p: ReturnType<typeof fakePerson>) =>
      Number(
        (await pgc.query('select count(*) as n from sessions where whatsapp_id = $1', [p.waId])).rows[0].n,
      ) + Number((await pgc.query('select count(*) as n from notes where phone = $1', [p.e164])).rows[0].n);

    type Letter = { id: string; queue: string; data: { requestId: string; systemId: string } };
    async function deadLetters(): Promise<Letter[]> {
      const out = await cli.run('dlq', 'list');
      expect(out.code).toBe(0);
      return JSON.parse(out.stdout) as Letter[];
    }

    it('retries a cut system with backoff, dead-letters it after the last attempt, alerts, and replays it once back', async () => {
      const [p, other] = [fakePerson(), fakePerson()];
      await seed(p);
      await seed(other);
      proxy.cut();
      const started = Date.now();
      const req = await verifiedRequest(t, 'erasure', p);
      expect(req.status).toBe('executing');

      // A failed attempt is recorded (and the request keeps executing) while retries remain.
      await expect
        .poll(async () => systemOf(await requestView(t, req.id), 'app-db'), SOON)
        .toMatchObject({ status: 'failed', last_error: 'sql_connection' });
      expect((await requestView(t, req.id)).status).toBe('executing');

      const failed = await untilStatus(t, req.id, 'failed');
      const elapsed = Date.now() - started;
      // retryLimit 2: three attempts, waiting 1-2 s and then 2-4 s (exponential backoff with jitter).
      expect(elapsed).toBeGreaterThanOrEqual(2_900);
      expect(systemOf(failed, 'app-db')).toMatchObject({
        status: 'dead',
        attempts: 3,
        last_error: 'sql_connection',
      });
      expect(systemOf(failed, 'notes-db').status).toBe('done');
      expect(failed.error_code).toBe('SYSTEMS_DEAD');

      const letter = (await deadLetters()).find((l) => l.data.requestId === req.id);
      expect(letter).toMatchObject({
        queue: 'connector.run.dead',
        data: { requestId: req.id, systemId: 'app-db' },
      });

      await expect.poll(() => alerts.received.length, SOON).toBeGreaterThan(0);
      const alert = alerts.received.find((a) => a.text.includes(req.reference));
      expect(alert).toBeDefined();
      expect(Object.keys(alert!)).toEqual(['text']);
      expect(alert!.text).toContain('app-db');
      for (const secret of [p.e164, p.waId, p.name, p.bsuid]) expect(alert!.text).not.toContain(secret);
      const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/flowguard_alerts_total\{kind="task_dead_lettered"\} [1-9]/);

      proxy.restore();
      const retried = await cli.run('dlq', 'retry', letter!.id);
      expect(retried.code).toBe(0);
      expect(JSON.parse(retried.stdout)).toMatchObject({ requeued: 'connector.run' });
      const done = await untilStatus(t, req.id, 'completed');
      expect(systemOf(done, 'app-db')).toMatchObject({ status: 'done', attempts: 4, last_error: null });
      expect(await rows(p)).toBe(0);
      expect(await rows(other)).toBe(2);
      expect((await deadLetters()).some((l) => l.data.requestId === req.id)).toBe(false);
    });

    it('sends a permanent failure (missing table) to the dead-letter queue at once, and replays it after the fix', async () => {
      proxy.restore();
      const p = fakePerson();
      await seed(p);
      await pgc.query('alter table notes rename to notes_moved');
      try {
        const req = await verifiedRequest(t, 'erasure', p);
        const failed = await untilStatus(t, req.id, 'failed');
        expect(systemOf(failed, 'notes-db')).toMatchObject({
          status: 'dead',
          attempts: 1,
          last_error: 'sql_table_missing',
        });
        expect(systemOf(failed, 'app-db').status).toBe('done');
        const letter = (await deadLetters()).find((l) => l.data.requestId === req.id);
        expect(letter?.data.systemId).toBe('notes-db');
        await expect
          .poll(
            () => alerts.received.some((a) => a.text.includes(req.reference) && a.text.includes('notes-db')),
            SOON,
          )
          .toBe(true);

        await pgc.query('alter table notes_moved rename to notes');
        expect((await cli.run('dlq', 'retry', letter!.id)).code).toBe(0);
        await untilStatus(t, req.id, 'completed');
        expect(await rows(p)).toBe(0);
      } finally {
        await pgc.query('alter table if exists notes_moved rename to notes');
      }
    });
  });
});
