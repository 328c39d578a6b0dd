import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditChain } from '../../src/modules/audit/index.js';
import { RETENTION_QUEUE, runRetention, startRetentionWorker } from '../../src/modules/retention/index.js';
import { acquireRetentionLease } from '../../src/modules/retention/retention-lease.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';
import { snapshotTables } from '../helpers/webhook-payloads.js';
import { cliFor } from './requests.fixtures.js';
import { startCrmDatabase, writeConfig } from './retention-crm.fixtures.js';
import { seedEveryCategory, type Seeded } from './retention.fixtures.js';

type Summary = Record<string, { expired: number; deleted: number }>;
const DAY = 86_400_000;

/**
 * Storage limitation: `flowguard retention run` finds what is past its period in every category of the own
 * store and in the data-map systems that declare retention; --dry-run only counts; a run deletes exactly the
 * expired rows (whole people for inactive contacts, keys included, suppressions kept) and, years later, whole
 * prefixes of the audit chain, which still verifies.
 */
describe.each(storeKinds())('retention sweep on %s', (kind) => {
  let t: TestApp;
  let cli: Awaited<ReturnType<typeof cliFor>>;
  let crm: Awaited<ReturnType<typeof startCrmDatabase>>;
  let seeded: Seeded;
  let configDir: string;
  beforeAll(async () => {
    crm = await startCrmDatabase();
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-retention-'));
    const config = writeConfig(configDir, crm?.yaml);
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: config });
    cli = await cliFor(t, { FLOWGUARD_CONFIG: config });
    seeded = await seedEveryCategory(t);
  });
  afterAll(async () => {
    await cli?.close();
    await t?.close();
    await crm?.close();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  const db = () => t.ctx.database.db;
  const expectedSummary = (deleted: boolean): Summary => {
    const out: Summary = {};
    for (const [c, n] of Object.entries({ ...seeded.expired, ...(crm?.expected ?? {}) }))
      out[c] = { expired: n, deleted: deleted ? n : 0 };
    return out;
  };

  it('counts what is past its retention in every category and changes nothing with --dry-run', async () => {
    // `tenants` aside: a CLI process opening the store refreshes the default tenant from its environment.
    const snapshot = async () => {
      const { tenants: _tenants, ...rest } = await snapshotTables(t);
      return rest;
    };
    const before = await snapshot();
    const out = await cli.run('retention', 'run', '--dry-run');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedSummary(false));
    expect(out.stderr).toContain('  flow_responses: 3 expired\n');
    expect(out.stderr).toMatch(
      /retention \(dry run\): \d+ rows\/items past their retention; nothing deleted/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to start while another sweep holds the lease', async () => {
    const lease = await acquireRetentionLease(db());
    expect(lease).toBeDefined();
    const out = await cli.run('retention', 'run');
    expect(out.code).toBe(75);
    expect(out.stderr).toContain('another retention sweep is running');
    expect(out.stdout).toBe('');
    await lease!.release({});
  });

  it('deletes exactly the expired rows, keeps the rest, and erases inactive contacts fully', async () => {
    const out = await cli.run('retention', 'run');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(expectedSummary(true));
    expect(out.stderr).toContain('  flow_responses: 3 expired, 3 deleted\n');
    expect(out.stderr).toMatch(/retention: \d+ rows\/items deleted in [\d.]+ s \(\d+\/s\)/);
    // The embedded store has no autovacuum: the sweep vacuums it (embedded-vacuum.int.test.ts).
    if (kind === 'pglite') expect(out.stderr).toMatch(/retention: vacuumed and analyzed \d+ tables/);
    else expect(out.stderr).not.toContain('vacuumed');

    // Nothing expired is left; everything within its period is still there.
    expect(JSON.parse((await cli.run('retention', 'run', '--dry-run')).stdout)).toEqual(
      Object.fromEntries(Object.keys(expectedSummary(false)).map((c) => [c, { expired: 0, deleted: 0 }])),
    );
    for (const k of seeded.kept) {
      const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(k.table)}
        where ${sql.ref(k.column)}::text = ${k.value}`.execute(db());
      expect(`${k.table} ${r.rows[0]?.n}`).toBe(`${k.table} 1`);
    }
    const content = await db()
      .selectFrom('messages')
      .select('content')
      .where('content', 'is not', null)
      .execute();
    expect(content).toEqual([]);

    // The inactive contact is gone with every row and its data key; its STOP survives as a keyed hash.
    const gone = seeded.people.optedOut.id;
    for (const table of ['subjects', 'subject_keys', 'identities', 'messages'] as const) {
      const col = table === 'subjects' ? 'id' : 'subject_id';
      const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}
        where ${sql.ref(col)} = ${gone}`.execute(db());
      expect(`${table} ${r.rows[0]?.n}`).toBe(`${table} 0`);
    }
    expect(await t.ctx.subjectKeys.cipher(db(), gone)).toBeUndefined();
    // The key store's journal keeps what a database backup still in retention may need.
    const { expired, kept } = seeded.keyStoreJournal;
    expect([...(await t.ctx.keyStore.journaled([expired, kept]))]).toEqual([kept]);
    const suppressed = await db()
      .selectFrom('suppressions')
      .select('kind')
      .where('blind_index', '=', seeded.optedOutIndex)
      .execute();
    expect(suppressed).toEqual([{ kind: 'phone' }]);
    // Restricted people, people with an open request and people seen within the period stay.
    const left = await db().selectFrom('subjects').select('id').execute();
    for (const who of ['active', 'restricted', 'openRequest', 'recent'] as const)
      expect(left.map((s) => s.id)).toContain(seeded.people[who].id);
    // The old request's tasks went with it.
    expect(
      await db().selectFrom('request_tasks').select('system_id').where('system_id', '=', 'crm').execute(),
    ).toEqual([]);

    if (crm) expect(await crm.counts()).toEqual({ events: '2', leads: '4', personal: '1' });

    // Accountability: the erasure and the sweep are in the audit trail, by counts only.
    const events = await db()
      .selectFrom('audit_log')
      .select(['event_type', 'actor_id', 'data'])
      .where('actor_id', '=', 'retention')
      .execute();
    expect(events.map((e) => e.event_type).sort()).toEqual(['erasure.own_store', 'retention.swept']);
    const swept = events.find((e) => e.event_type === 'retention.swept')!.data;
    expect(swept).toMatchObject({ complete: true, counts: { flow_responses: 3, inactive_contacts: 1 } });
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });

  it('runs as a pg-boss cron job that records its summary on the lease', async () => {
    await startRetentionWorker(t.ctx);
    const schedules = await t.ctx.queue.boss.getSchedules();
    expect(schedules.find((s) => s.name === RETENTION_QUEUE)).toMatchObject({
      cron: '11 * * * *',
      timezone: 'UTC',
    });
    const before = await db().selectFrom('retention_lease').select('finished_at').executeTakeFirstOrThrow();
    const id = await t.ctx.queue.boss.send(RETENTION_QUEUE, {});
    await expect
      .poll(async () => (await t.ctx.queue.boss.getJobById(RETENTION_QUEUE, id!))?.state, { timeout: 30_000 })
      .toBe('completed');
    const job = await t.ctx.queue.boss.getJobById(RETENTION_QUEUE, id!);
    expect(job?.output).toMatchObject({ status: 'done' });
    const after = await db().selectFrom('retention_lease').selectAll().executeTakeFirstOrThrow();
    expect(new Date(after.finished_at!).getTime()).toBeGreaterThan(new Date(before.finished_at!).getTime());
    expect(after.summary).toMatchObject({ categories: { flow_responses: { expired: 0, deleted: 0 } } });
  });

  it('years later, archives whole audit prefixes, and the chain still verifies from the checkpoint', async () => {
    const now = Date.now();
    const future = new Date(now + 2200 * DAY);
    const before = await db()
      .selectFrom('audit_log')
      .select(sql<string>`seq::text`.as('seq'))
      .orderBy('seq')
      .execute();
    // Rows written "later" (within six years of the moved clock) must stay.
    await db()
      .transaction()
      .execute(async (tx) => {
        for (let i = 0; i < 3; i++)
          await appendAudit(tx, t.ctx.keyring, {
            type: 'webhook.ingested',
            tenantId: 'default',
            actor: { type: 'system' },
            occurredAt: new Date(now + 2195 * DAY),
            data: { inbound: 1, statuses: 0 },
          });
      });
    const report = await runRetention({ ...t.ctx, clock: () => future });
    expect(report.status).toBe('done');
    expect(report.categories.audit_log).toEqual({ expired: before.length, deleted: before.length });

    const archive = await db().selectFrom('audit_archive').selectAll().orderBy('through_seq').execute();
    expect(archive.length).toBe(Math.ceil(before.length / 10));
    expect(Number(archive.at(-1)!.through_seq)).toBe(Number(before.at(-1)!.seq));
    expect(archive.reduce((n, a) => n + Number(a.rows), 0)).toBe(before.length);
    const remaining = await db().selectFrom('audit_log').select(['event_type']).orderBy('seq').execute();
    expect(remaining.slice(0, 3).map((r) => r.event_type)).toEqual(Array(3).fill('webhook.ingested'));
    expect(remaining.map((r) => r.event_type)).toContain('audit.archived');
    const verified = await verifyAuditChain(db());
    expect(verified).toEqual({ ok: true, rows: remaining.length });
    const viaCli = await cli.run('audit', 'verify');
    expect(viaCli.code).toBe(0);
    expect(JSON.parse(viaCli.stdout)).toEqual({ ok: true, rows: remaining.length });

    // Rows not covered by a checkpoint, and the checkpoints themselves, are still append-only.
    for (const statement of [
      sql`delete from audit_log`,
      sql`delete from audit_archive`,
      sql`update audit_archive set rows = 0`,
    ])
      await expect(
        db()
          .transaction()
          .execute((tx) => statement.execute(tx)),
      ).rejects.toThrow(/append-only/);
    // A prefix deleted behind the checkpoint's back is still caught.
    const first = await db()
      .selectFrom('audit_log')
      .select(sql<string>`seq::text`.as('seq'))
      .orderBy('seq')
      .limit(2)
      .execute();
    await sql`alter table audit_log disable trigger user`.execute(db());
    await sql`delete from audit_log where seq = ${first[0]!.seq}::bigint`.execute(db());
    await sql`alter table audit_log enable trigger user`.execute(db());
    expect(await verifyAuditChain(db())).toEqual({
      ok: false,
      firstBadSeq: Number(first[1]!.seq),
      reason: 'gap',
    });
  });
});
