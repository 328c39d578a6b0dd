import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrationStatus } from '../../src/lib/db/migrate.js';
import { createTestApp, fakePerson, hasService, storeKinds, type TestApp } from '../helpers/test-app.js';

describe.each(storeKinds())('store on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());

  it('runs every migration once and reports readiness', async () => {
    const status = await migrationStatus(t.ctx.database);
    expect(status.current).toBe(status.latest);
    expect((await migrate(t.ctx.database)).applied).toEqual([]);
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', store: kind });
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('finds one subject by any identity and encrypts identities at rest', async () => {
    const p = fakePerson();
    const db = t.ctx.database.db;
    const tenant = await t.ctx.tenants.getDefault();
    const a = await db
      .transaction()
      .execute((tx) => t.ctx.subjects.findOrCreate(tx, tenant.id, [{ kind: 'phone', value: p.e164 }]));
    const b = await db.transaction().execute((tx) =>
      t.ctx.subjects.findOrCreate(tx, tenant.id, [
        { kind: 'phone', value: p.e164 },
        { kind: 'bsuid', value: p.bsuid },
      ]),
    );
    const c = await db
      .transaction()
      .execute((tx) => t.ctx.subjects.findOrCreate(tx, tenant.id, [{ kind: 'bsuid', value: p.bsuid }]));
    expect(a.created).toBe(true);
    expect(b.id).toBe(a.id);
    expect(c.id).toBe(a.id);
    const rows = await db.selectFrom('identities').selectAll().where('subject_id', '=', a.id).execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.value).toMatch(/^v1\./);
      expect(row.value).not.toContain(p.waId);
      expect(a.cipher.decrypt(row.value, 'identities', 'value', row.id)).toBe(
        row.kind === 'phone' ? p.e164 : p.bsuid,
      );
    }
  });

  it('keeps one subject when the same new person arrives concurrently', async () => {
    const p = fakePerson();
    const tenant = await t.ctx.tenants.getDefault();
    const ids = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.ctx.database.db
          .transaction()
          .execute((tx) => t.ctx.subjects.findOrCreate(tx, tenant.id, [{ kind: 'phone', value: p.e164 }])),
      ),
    );
    expect(new Set(ids.map((r) => r.id)).size).toBe(1);
    const count = await sql<{
      n: string;
    }>`select count(*)::text as n from subjects s join identities i on i.subject_id = s.id`.execute(
      t.ctx.database.db,
    );
    expect(Number(count.rows[0]?.n)).toBeGreaterThan(0);
  });
});

describe.runIf(hasService('postgres'))('first contacts on PostgreSQL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('postgres');
  });
  afterAll(async () => t?.close());

  // Deterministic: the second contact's lookup is held on the first one's lock until the first commits, and
  // must then see what it committed (a lookup whose snapshot was taken before the lock was granted would not).
  it('a first contact waiting on another one’s lock finds the subject it committed', async () => {
    const p = fakePerson();
    const tenant = await t.ctx.tenants.getDefault();
    const identities = [{ kind: 'phone' as const, value: p.e164 }];
    const waiting = async () =>
      Number(
        (
          await sql<{ n: string }>`select count(*)::text as n from pg_locks
            where locktype = 'advisory' and not granted and database = (
              select oid from pg_database where datname = current_database())`.execute(t.ctx.database.db)
        ).rows[0]!.n,
      );
    let second: Promise<{ id: string; created: boolean }> | undefined;
    const first = await t.ctx.database.db.transaction().execute(async (tx) => {
      const made = await t.ctx.subjects.findOrCreate(tx, tenant.id, identities);
      second = t.ctx.database.db
        .transaction()
        .execute((tx2) => t.ctx.subjects.findOrCreate(tx2, tenant.id, identities));
      for (let i = 0; i < 500 && (await waiting()) === 0; i++) await delay(10);
      expect(await waiting()).toBe(1);
      return made;
    });
    expect(first.created).toBe(true);
    expect(await second!).toMatchObject({ id: first.id, created: false });
  });
});
