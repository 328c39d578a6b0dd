import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../src/modules/retention/index.js';
import { createTestApp, hasService, type TestApp } from '../helpers/test-app.js';

const DAY = 86_400_000;

/** `n` processed events of `age` days, with keys that say which batch they are. */
async function addEvents(t: TestApp, tenantId: string, batch: string, n: number, ageDays: number) {
  const at = new Date(Date.now() - ageDays * DAY);
  await t.ctx.database.db
    .insertInto('processed_events')
    .values(
      Array.from({ length: n }, (_, i) => ({
        tenant_id: tenantId,
        event_key: `${batch}-${i}-${'k'.repeat(80)}`,
        kind: 'message',
        processed_at: at,
      })),
    )
    .execute();
}

const tableBytes = async (t: TestApp) =>
  Number(
    (
      await sql<{ bytes: string }>`select pg_relation_size('processed_events') as bytes`.execute(
        t.ctx.database.db,
      )
    ).rows[0]!.bytes,
  );

/**
 * The embedded store has no autovacuum (PGlite runs no background workers): after each retention sweep,
 * flowguard vacuums and analyzes its tables, so the space of what was deleted is used again rather than the
 * tables growing for good.
 */
describe('vacuum of the embedded store after a retention sweep', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('pglite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('vacuums every table, and the space of the deleted rows is used again', async () => {
    const tenant = await t.ctx.tenants.getDefault();
    await addEvents(t, tenant.id, 'expired', 3000, 30);
    await addEvents(t, tenant.id, 'recent', 3000, 0);
    const tables = Number(
      (
        await sql<{
          n: string;
        }>`select count(*) as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
          where c.relkind = 'r' and s.nspname not in ('pg_catalog', 'information_schema')
          and s.nspname not like 'pg\\_toast%'`.execute(t.ctx.database.db)
      ).rows[0]!.n,
    );

    const report = await runRetention(t.ctx);
    expect(report.status).toBe('done');
    expect(report.categories.processed_events).toEqual({ expired: 3000, deleted: 3000 });
    expect(report.vacuumedTables).toBe(tables);
    const stats = await sql<{ reltuples: number; relpages: number; relallvisible: number }>`
      select reltuples, relpages, relallvisible from pg_class where relname = 'processed_events'`.execute(
      t.ctx.database.db,
    );
    // VACUUM counted the live rows and marked every page all-visible; ANALYZE alone does neither.
    expect(stats.rows[0]!.reltuples).toBe(3000);
    expect(stats.rows[0]!.relallvisible).toBe(stats.rows[0]!.relpages);

    // New rows take the place of the deleted ones: the table does not grow.
    const swept = await tableBytes(t);
    await addEvents(t, tenant.id, 'later', 2500, 0);
    expect(await tableBytes(t)).toBe(swept);
  });

  it('does nothing of it with --dry-run', async () => {
    const report = await runRetention(t.ctx, { dryRun: true });
    expect(report.vacuumedTables).toBe(0);
  });
});

describe.runIf(hasService('postgres'))('vacuum on PostgreSQL', () => {
  it('is left to the server: a sweep vacuums nothing', async () => {
    const t = await createTestApp('postgres');
    try {
      expect((await runRetention(t.ctx)).vacuumedTables).toBe(0);
    } finally {
      await t.close();
    }
  });
});
