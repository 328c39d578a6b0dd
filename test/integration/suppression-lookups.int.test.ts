import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../../src/lib/db/schema.js';
import { blindIndex } from '../../src/modules/subjects/index.js';
import { applyPreference } from '../../src/modules/whatsapp/index.js';
import { createTestApp, fakePerson, hasService, type TestApp } from '../helpers/test-app.js';

/**
 * The marketing suppression list outlives erasure and only grows with every STOP. Looking a person up in it
 * must be a lookup on its primary key (tenant_id, kind, blind_index), never a read of every suppression of the
 * tenant: checked on the plans PostgreSQL actually ran (auto_explain, sent to this session as notices) with
 * 20,000 suppressions stored.
 */
describe.runIf(hasService('postgres'))('suppression lookups on PostgreSQL', () => {
  let t: TestApp;
  let pool: pg.Pool;
  let db: Kysely<DB>;
  const plans: string[] = [];
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestApp('postgres');
    tenantId = (await t.ctx.tenants.getDefault()).id;
    pool = new pg.Pool({ connectionString: t.databaseUrl!, max: 1 });
    pool.on('connect', (c) => c.on('notice', (n) => plans.push(n.message ?? '')));
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    await sql`insert into suppressions (tenant_id, kind, blind_index, reason)
      select ${tenantId}, case when i % 2 = 0 then 'phone' else 'bsuid' end, 'b1.' || md5(i::text) || md5(i::text),
        'stop_keyword'
      from generate_series(1, 20000) as g(i)`.execute(db);
    await sql`analyze suppressions`.execute(db);
    await sql`load 'auto_explain'`.execute(db);
    await sql`set auto_explain.log_min_duration = 0`.execute(db);
    await sql`set client_min_messages = log`.execute(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await t?.close();
  });

  /** The plan of the one statement run by `run` whose text matches `statement`. */
  async function planOf(statement: RegExp, run: () => Promise<unknown>): Promise<string> {
    plans.length = 0;
    await run();
    const found = plans.filter((p) => statement.test(p));
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  function expectKeyLookup(plan: string) {
    expect(plan).not.toMatch(/Seq Scan on suppressions/);
    expect(plan).toMatch(/Index (Only )?Scan using suppressions_pkey on suppressions/);
    expect(plan).toMatch(/Index Cond: .*\bkind = .*\bblind_index = /);
  }

  it('a new person is checked against the list by key, and an opt-out on it is still found', async () => {
    const stopped = fakePerson();
    await db.transaction().execute((tx) =>
      applyPreference(t.ctx, tx, {
        tenantId,
        subjectId: undefined,
        identities: [{ kind: 'phone', value: stopped.e164 }],
        value: 'stop',
        reason: 'stop_keyword',
      }),
    );
    const people = [stopped, fakePerson()];
    let made: Awaited<ReturnType<typeof t.ctx.subjects.resolveMany>> = [];
    const plan = await planOf(/insert into subjects/, async () => {
      made = await db.transaction().execute((tx) =>
        t.ctx.subjects.resolveMany(
          tx,
          tenantId,
          people.map((p) => ({
            identities: [{ kind: 'phone' as const, value: p.e164 }],
            profileName: p.name,
          })),
        ),
      );
    });
    expectKeyLookup(plan);
    const optOut = await db
      .selectFrom('subjects')
      .select(['id', 'marketing_opt_out'])
      .where(
        'id',
        'in',
        made.map((m) => m.id),
      )
      .execute();
    expect(new Map(optOut.map((r) => [r.id, r.marketing_opt_out]))).toEqual(
      new Map([
        [made[0]!.id, true],
        [made[1]!.id, false],
      ]),
    );
  });

  it('a resume clears the person’s entry by key, and only theirs', async () => {
    const person = fakePerson();
    const phone = { kind: 'phone' as const, value: person.e164 };
    const stop = (value: 'stop' | 'resume') =>
      db.transaction().execute((tx) =>
        applyPreference(t.ctx, tx, {
          tenantId,
          subjectId: undefined,
          identities: [phone],
          value,
          reason: 'stop_keyword',
        }),
      );
    await stop('stop');
    const before = await db
      .selectFrom('suppressions')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    const plan = await planOf(/delete from "suppressions"/, () => stop('resume'));
    expectKeyLookup(plan);
    const left = await db
      .selectFrom('suppressions')
      .select(['blind_index'])
      .where('tenant_id', '=', tenantId)
      .execute();
    expect(left).toHaveLength(before.n - 1);
    expect(left.map((r) => r.blind_index)).not.toContain(blindIndex(t.ctx.keyring, tenantId, phone));
  });
});
