import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfCheck } from '../../src/modules/alerts/scheduled-checks.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { SOON, startAlertReceiver, writeConfig, type AlertReceiver } from '../helpers/runner-fixtures.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  hasService,
  storeKinds,
  type TestApp,
} from '../helpers/test-app.js';
import { cliFor } from './requests.fixtures.js';

type Report = {
  ok: boolean;
  systems: {
    id: string;
    type: string;
    reachable: boolean;
    warnings: string[];
    located?: { where: string; count: number }[];
  }[];
};

/**
 * `flowguard datamap check`: every system reached, what a probe identity matches (a dry run: nothing is
 * changed), a warning for each identity column without an index; exit 1 when a system cannot be reached. The
 * scheduled self-check runs the same check and alerts once a day per broken system.
 */
describe.runIf(hasService('postgres') && hasService('redis'))(
  'datamap check and the daily self-check',
  () => {
    describe.each(storeKinds())('on %s', (kind) => {
      const tag = crypto.randomBytes(4).toString('hex');
      let t: TestApp;
      let dir: string;
      let biz: { url: string; drop: () => Promise<void> };
      let pgc: pg.Client;
      let redis: Redis;
      let proxy: FaultProxy;
      let alerts: AlertReceiver;
      let cli: Awaited<ReturnType<typeof cliFor>>;
      let now = new Date('2026-03-02T03:17:00Z');

      beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-datamap-'));
        biz = await createPgDatabase();
        pgc = new pg.Client({ connectionString: biz.url });
        await pgc.connect();
        await pgc.query(`
        create table customers (id serial primary key, phone text, name text);
        create table orders (id serial primary key, user_phone text not null, total int);
        create index on orders (user_phone);`);
        redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
        await redis.connect();
        proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
        alerts = await startAlertReceiver();
        const file = writeConfig(
          dir,
          `
alerts:
  webhookUrl: ${alerts.url}
systems:
  - id: app-db
    type: postgres
    url: ${biz.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`)}
    collections:
      - { table: customers, identity: { column: phone, format: e164 } }
      - { table: orders, identity: { column: user_phone, format: digits } }
  - id: cache
    type: redis
    url: redis://127.0.0.1:6379
    keys: ["fgdm:${tag}:session:{digits}"]
`,
        );
        t = await createTestApp(kind, { FLOWGUARD_CONFIG: file }, { clock: () => now });
        cli = await cliFor(t, { FLOWGUARD_CONFIG: file });
      }, 120_000);

      afterAll(async () => {
        await cli?.close();
        await t?.close();
        await proxy?.close();
        await alerts?.close();
        if (redis) {
          const keys = await redis.keys(`fgdm:${tag}:*`);
          if (keys.length) await redis.del(...keys);
          redis.disconnect();
        }
        await pgc?.end();
        await biz?.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      });

      it('reports reachability, what a probe matches (changing nothing) and unindexed identity columns', async () => {
        proxy.restore();
        const [p, other] = [fakePerson(), fakePerson()];
        await pgc.query('insert into customers (phone, name) values ($1, $2), ($1, $2), ($3, $4)', [
          p.e164,
          p.name,
          other.e164,
          other.name,
        ]);
        await pgc.query('insert into orders (user_phone, total) values ($1, 10)', [p.waId]);
        await redis.set(`fgdm:${tag}:session:${p.waId}`, 'x');

        const out = await cli.run('datamap', 'check', '--probe-phone', p.e164);
        expect(out.code).toBe(0);
        const report = JSON.parse(out.stdout) as Report;
        expect(report.ok).toBe(true);
        const app = report.systems.find((s) => s.id === 'app-db')!;
        const cache = report.systems.find((s) => s.id === 'cache')!;
        expect(app).toMatchObject({ type: 'postgres', reachable: true });
        expect(app.located).toEqual([
          { where: 'customers', count: 2 },
          { where: 'orders', count: 1 },
        ]);
        expect(app.warnings).toEqual(['customers.phone has no index: each erasure scans the table']);
        expect(cache).toMatchObject({ type: 'redis', reachable: true, warnings: [] });
        expect(cache.located?.reduce((n, l) => n + l.count, 0)).toBe(1);
        expect(out.stderr).toContain('app-db: warning: customers.phone has no index');
        // The report names places and counts, never the probe.
        for (const secret of [p.e164, p.waId, p.name]) expect(out.stdout + out.stderr).not.toContain(secret);
        // A dry run: everything is still there.
        expect(
          Number(
            (await pgc.query('select count(*) as n from customers where phone = $1', [p.e164])).rows[0].n,
          ),
        ).toBe(2);
        expect(await redis.exists(`fgdm:${tag}:session:${p.waId}`)).toBe(1);
      });

      it('exits 1 when a system cannot be reached', async () => {
        proxy.cut();
        try {
          const out = await cli.run('datamap', 'check');
          expect(out.code).toBe(1);
          const report = JSON.parse(out.stdout) as Report;
          expect(report.ok).toBe(false);
          expect(report.systems.find((s) => s.id === 'app-db')?.reachable).toBe(false);
          expect(report.systems.find((s) => s.id === 'cache')?.reachable).toBe(true);
          expect(out.stderr).toContain('app-db: unreachable');
        } finally {
          proxy.restore();
        }
      });

      it('the self-check alerts on a broken system once a day', async () => {
        const count = () => alerts.received.filter((a) => a.text.includes('app-db')).length;
        const before = count();
        proxy.cut();
        try {
          expect(await selfCheck(t.ctx)).toBe(false);
          expect(await selfCheck(t.ctx)).toBe(false);
          await expect.poll(count, SOON).toBe(before + 1);
          now = new Date(now.getTime() + 86_400_000);
          expect(await selfCheck(t.ctx)).toBe(false);
          await expect.poll(count, SOON).toBe(before + 2);
        } finally {
          proxy.restore();
        }
        expect(await selfCheck(t.ctx)).toBe(true);
        const alert = alerts.received.find((a) => a.text.includes('app-db'))!;
        expect(alert.text).toMatch(/app-db \(postgres\) failed its check/);
        expect(alert.text).not.toContain(biz.url.split('/').pop()!); // no connection details
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        expect(metrics).toContain('flowguard_alerts_total{kind="system_check_failed"} 2');
      });
    });
  },
);
