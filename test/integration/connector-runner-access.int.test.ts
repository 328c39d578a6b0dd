import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  requestView,
  SOON,
  systemOf,
  untilStatus,
  verifiedRequest,
  writeConfig,
} from '../helpers/runner-fixtures.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  hasService,
  storeKinds,
  type TestApp,
} from '../helpers/test-app.js';
import { api, apiKey } from './requests.fixtures.js';

type Bundle = {
  format: string;
  categories: { id: string; records: unknown[] }[];
  systems: { system_id: string; where: string; category: string; records: Record<string, unknown>[] }[];
  recipients: { system_id: string; name: string }[];
};

/**
 * An access request reaches every system of the data map: each system's export is stored sealed when its task
 * runs, the request completes only once every system has exported, and the bundle (API and the person's link)
 * carries a `systems` section beside flowguard's own categories, with the data map's recipients.
 */
describe.runIf(hasService('postgres') && hasService('redis'))('access requests across systems', () => {
  describe.each(storeKinds())('on %s', (kind) => {
    const tag = crypto.randomBytes(4).toString('hex');
    let t: TestApp;
    let dir: string;
    let biz: { url: string; drop: () => Promise<void> };
    let pgc: pg.Client;
    let redis: Redis;
    let proxy: FaultProxy;
    let key: string;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-access-'));
      biz = await createPgDatabase();
      pgc = new pg.Client({ connectionString: biz.url });
      await pgc.connect();
      await pgc.query(`
        create table bookings (id serial primary key, whatsapp_id text not null, room text, internal_score int);
        create index on bookings (whatsapp_id);
        create table invoices (id serial primary key, customer_phone text not null, amount_cents int);
        create index on invoices (customer_phone);`);
      redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
      await redis.connect();
      proxy = await startFaultProxy({ host: '127.0.0.1', port: 6379 });
      const file = writeConfig(
        dir,
        `
queues:
  connector.run: { retryLimit: 2, retryDelaySeconds: 1 }
systems:
  - id: app-db
    type: postgres
    url: ${biz.url}
    collections:
      - { table: bookings, identity: { column: whatsapp_id, format: digits }, access: [room], category: bookings }
      - { table: invoices, identity: { column: customer_phone, format: e164 }, category: billing, retain: { reason: "tax law" } }
  - id: chat-cache
    type: redis
    name: Hosted chat cache (Example Cloud Ltd)
    url: redis://127.0.0.1:${proxy.port}
    recipient: true
    category: conversations
    keys: ["fgacc:${tag}:chat:{digits}"]
`,
      );
      t = await createTestApp(kind, { FLOWGUARD_CONFIG: file });
      await startConnectorWorker(t.ctx);
      key = await apiKey(t);
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      await proxy?.close();
      if (redis) {
        const keys = await redis.keys(`fgacc:${tag}:*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await pgc?.end();
      await biz?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function seed(p: ReturnType<typeof fakePerson>, room: string) {
      await pgc.query('insert into bookings (whatsapp_id, room, internal_score) values ($1, $2, 7)', [
        p.waId,
        room,
      ]);
      await pgc.query('insert into invoices (customer_phone, amount_cents) values ($1, 4200)', [p.e164]);
      await redis.set(`fgacc:${tag}:chat:${p.waId}`, `last message of ${room}`);
    }

    it('completes only when every system has exported, and merges their records into the bundle and the link', async () => {
      const [p, other] = [fakePerson(), fakePerson()];
      await seed(p, 'room-12');
      await seed(other, 'room-99');
      proxy.cut();
      const req = await verifiedRequest(t, 'access', p);
      // PostgreSQL has exported; the cache cannot be reached yet: the request waits for it.
      await expect
        .poll(async () => {
          const v = await requestView(t, req.id);
          return [systemOf(v, 'app-db').status, systemOf(v, 'chat-cache').status];
        }, SOON)
        .toEqual(['done', 'failed']);
      const waiting = await requestView(t, req.id);
      expect(waiting.status).toBe('executing');
      expect(systemOf(waiting, 'app-db')).toMatchObject({ status: 'done', counts: { exported: 2 } });
      expect((await api(t, key).get(`/v1/requests/${req.id}/export`)).statusCode).toBe(409);

      proxy.restore();
      const done = await untilStatus(t, req.id, 'completed', 20_000);
      expect(systemOf(done, 'chat-cache')).toMatchObject({ status: 'done', counts: { exported: 1 } });

      const res = await api(t, key).get(`/v1/requests/${req.id}/export`);
      expect(res.statusCode).toBe(200);
      const bundle = res.json() as Bundle;
      expect(bundle.format).toBe('flowguard.access.v1');
      expect(bundle.categories.length).toBeGreaterThan(0);
      const place = (system: string, where: string) =>
        bundle.systems.find((s) => s.system_id === system && s.where === where);
      expect(place('app-db', 'bookings')).toMatchObject({
        category: 'bookings',
        records: [{ room: 'room-12' }],
      });
      // Only the data map's access columns of bookings; retained invoices are still the person's data.
      expect(Object.keys(place('app-db', 'bookings')!.records[0]!)).toEqual(['room']);
      expect(place('app-db', 'invoices')).toMatchObject({
        category: 'billing',
        records: [{ amount_cents: 4200 }],
      });
      const chat = bundle.systems.find((s) => s.system_id === 'chat-cache');
      expect(chat?.category).toBe('conversations');
      expect(JSON.stringify(chat?.records)).toContain('last message of room-12');
      expect(bundle.recipients).toEqual([
        { system_id: 'chat-cache', name: 'Hosted chat cache (Example Cloud Ltd)', category: 'conversations' },
      ]);
      const text = JSON.stringify(bundle.systems);
      for (const secret of ['room-99', other.waId, other.e164]) expect(text).not.toContain(secret);

      // The person's own link serves the same merged bundle.
      const link = await api(t, key).post(`/v1/requests/${req.id}/export-link`, {});
      expect(link.statusCode).toBe(201);
      const url = new URL((link.json() as { url: string }).url);
      const own = await t.app.inject({ method: 'GET', url: url.pathname });
      expect(own.statusCode).toBe(200);
      expect((own.json() as Bundle).systems).toEqual(bundle.systems);
      expect((own.json() as Bundle).recipients).toEqual(bundle.recipients);

      // Each system's export is stored sealed: no record value in the table.
      const stored = await t.ctx.database.db
        .selectFrom('request_exports')
        .select(['system_id', 'body'])
        .where('request_id', '=', req.id)
        .execute();
      expect(stored.map((s) => s.system_id).sort()).toEqual(['app-db', 'chat-cache']);
      for (const s of stored) expect(s.body).not.toContain('room-12');
    });
  });
});
