import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/lib/db/database.js';
import { planEachCall } from '../../src/lib/db/prepared-statements.js';
import { createSubjectResolver } from '../../src/modules/subjects/index.js';
import { findSubjectWithIdentities } from '../../src/modules/dsr/subject-identities.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  hasService,
  type TestApp,
} from '../helpers/test-app.js';

/** What this process's session has named (`pg_prepared_statements` is per session). */
const prepared = async (db: Database) =>
  (
    await sql<{
      name: string;
      statement: string;
    }>`select name, statement from pg_prepared_statements where name like 'fg_%'`.execute(db.db)
  ).rows;

/**
 * On PostgreSQL, statements run again and again are named (prepared once per connection, planned from a
 * cache); one-off and parameterless statements are not. One connection, so `pg_prepared_statements` (which is
 * per session) shows what this pool prepared.
 */
describe.runIf(hasService('postgres'))('prepared statements on PostgreSQL', () => {
  let pg: Awaited<ReturnType<typeof createPgDatabase>>;
  let database: Database;
  let plain: Database;
  beforeAll(async () => {
    pg = await createPgDatabase();
    database = await openDatabase({ databaseUrl: pg.url, dataDir: '', poolSize: 1 });
    plain = await openDatabase({ databaseUrl: pg.url, dataDir: '', poolSize: 1, preparedStatements: false });
    await sql`create table items (id int primary key, label text)`.execute(database.db);
    await sql`insert into items values (1, 'one'), (2, 'two'), (3, 'three')`.execute(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await plain?.close();
    await pg?.drop();
  });

  const labelOf = (db: Database, id: number) =>
    db.db
      .selectFrom('items' as never)
      .select('label' as never)
      .where('id' as never, '=', id as never)
      .execute();

  it('names a parameterised statement from its third run on, and answers the same before and after', async () => {
    const answers = [];
    for (const id of [1, 2]) answers.push(await labelOf(database, id));
    expect(await prepared(database)).toEqual([]);
    for (const id of [3, 1, 2, 3, 1]) answers.push(await labelOf(database, id));
    expect(answers.map((a) => (a as { label: string }[])[0]?.label)).toEqual([
      'one',
      'two',
      'three',
      'one',
      'two',
      'three',
      'one',
    ]);
    const names = await prepared(database);
    expect(names).toHaveLength(1);
    expect(names[0]!.statement).toMatch(/^select "label" from "items" where "id" = \$1$/);
  });

  it('never names a statement without parameters, nor one seen less than three times', async () => {
    for (let i = 0; i < 5; i++) await sql`select count(*) from items`.execute(database.db);
    for (let i = 0; i < 2; i++) await sql`select label from items where id > ${i}`.execute(database.db);
    expect(await prepared(database)).toHaveLength(1);
  });

  it('survives a migration that changes what a prepared select returns: one failure, then unnamed', async () => {
    const all = (id: number) => sql`select * from items where id = ${id}`.execute(database.db);
    for (let i = 0; i < 4; i++) await all(1);
    expect(await prepared(database)).toHaveLength(2);
    await sql`alter table items add column note text`.execute(plain.db);
    await expect(all(1)).rejects.toMatchObject({ code: '0A000' });
    const after = await all(1);
    expect(Object.keys(after.rows[0] as object).sort()).toEqual(['id', 'label', 'note']);
  });

  it('names nothing when turned off', async () => {
    for (let i = 0; i < 5; i++) await labelOf(plain, 1);
    expect(await prepared(plain)).toEqual([]);
  });

  it('never names a statement that holds planEachCall, and answers it the same', async () => {
    const before = await prepared(database);
    const labels = [];
    for (const id of [1, 2, 3, 1, 2, 3]) {
      const rows = await database.db
        .selectFrom('items' as never)
        .select('label' as never)
        .where('id' as never, '=', id as never)
        .where('label' as never, 'is not', null)
        .modifyEnd(planEachCall)
        .execute();
      labels.push((rows as { label: string }[])[0]?.label);
    }
    expect(labels).toEqual(['one', 'two', 'three', 'one', 'two', 'three']);
    expect(await prepared(database)).toEqual(before);
  });
});

/**
 * The embedded store names the same statements (PGlite is one session: `pg_prepared_statements` shows what the
 * process prepared), and a named statement answers exactly as PGlite's own query does: the same parameter
 * serialisation, the same parsing of every column type flowguard uses, the same affected-row counts and errors.
 */
describe('prepared statements on the embedded store', () => {
  let database: Database;
  let plain: Database;
  beforeAll(async () => {
    database = await openDatabase({ databaseUrl: undefined, dataDir: '', inMemory: true });
    plain = await openDatabase({
      databaseUrl: undefined,
      dataDir: '',
      inMemory: true,
      preparedStatements: false,
    });
    for (const db of [database, plain]) {
      await sql`create table items (id int primary key, label text, at timestamptz, tags text[], doc jsonb,
        total bigint, ok boolean, raw bytea, ref uuid)`.execute(db.db);
      await sql`insert into items (id, label) values (1, 'one'), (2, 'two'), (3, 'three')`.execute(db.db);
    }
  });
  afterAll(async () => {
    await database?.close();
    await plain?.close();
  });

  it('names a parameterised statement from its third run on, and answers as an unnamed one does', async () => {
    const row = (i: number) => ({
      at: new Date(Date.UTC(2026, 0, i, 3, 4, 5, 678)),
      tags: [`t${i}`, 'with,comma', 'with "quote"'],
      doc: { n: i, nested: { list: [1, 'two', null] } },
      total: `${9_007_199_254_740_993n + BigInt(i)}`,
      ok: i % 2 === 0,
      raw: Buffer.from([0, i, 255]),
      ref: `00000000-0000-4000-8000-00000000000${i}`,
    });
    const write = (db: Database, id: number) =>
      db.db
        .updateTable('items' as never)
        .set(row(id) as never)
        .where('id' as never, '=', id as never)
        .executeTakeFirst();
    const read = (db: Database, id: number) =>
      db.db
        .selectFrom('items' as never)
        .select(['id', 'label', 'at', 'tags', 'doc', 'total', 'ok', 'raw', 'ref'] as never)
        .where('id' as never, '=', id as never)
        .where('at' as never, '<', new Date('2030-01-01') as never)
        .execute();
    const answers = { named: [] as unknown[], unnamed: [] as unknown[] };
    for (const id of [1, 2, 3, 1, 2, 3]) {
      const [a, b] = [await write(database, id), await write(plain, id)];
      expect(a.numUpdatedRows).toBe(1n);
      expect(b.numUpdatedRows).toBe(1n);
      answers.named.push(await read(database, id));
      answers.unnamed.push(await read(plain, id));
    }
    expect(answers.named).toEqual(answers.unnamed);
    expect((answers.named[5] as unknown[])[0]).toEqual({
      id: 3,
      label: 'three',
      ...row(3),
      raw: new Uint8Array([0, 3, 255]),
      total: 9_007_199_254_740_996n,
    });
    const names = (await prepared(database)).map((p) => p.statement);
    expect(names).toHaveLength(2);
    expect(names.some((s) => s.startsWith('update "items" set'))).toBe(true);
    expect(await prepared(plain)).toEqual([]);
  });

  it('never names a statement without parameters, nor one seen less than three times', async () => {
    const before = await prepared(database);
    for (let i = 0; i < 5; i++) await sql`select count(*) from items`.execute(database.db);
    for (let i = 0; i < 2; i++) await sql`select label from items where id > ${i}`.execute(database.db);
    expect(await prepared(database)).toEqual(before);
  });

  it('never names a statement that holds planEachCall', async () => {
    const before = await prepared(database);
    for (const id of [1, 2, 3, 1]) {
      await database.db
        .selectFrom('items' as never)
        .select('label' as never)
        .where('id' as never, '=', id as never)
        .modifyEnd(planEachCall)
        .execute();
    }
    expect(await prepared(database)).toEqual(before);
  });

  it("delivers the notifications a named statement sends (as the job waker's heartbeat does)", async () => {
    const got: string[] = [];
    const stop = await database.listen('fg_test_channel', (payload) => got.push(payload));
    try {
      for (let i = 0; i < 5; i++) {
        await database.sql.executeSql('select pg_notify($1, $2)', ['fg_test_channel', `beat ${i}`]);
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual(['beat 0', 'beat 1', 'beat 2', 'beat 3', 'beat 4']);
      expect((await prepared(database)).some((p) => p.statement === 'select pg_notify($1, $2)')).toBe(true);
    } finally {
      await stop();
    }
  });

  it('keeps errors and transactions as they are: a named insert that conflicts fails with its code and rolls back', async () => {
    const insert = (db: Database['db'], id: number) =>
      db
        .insertInto('items' as never)
        .values({ id, label: `item ${id}` } as never)
        .executeTakeFirst();
    for (const id of [10, 11, 12]) expect((await insert(database.db, id)).numInsertedOrUpdatedRows).toBe(1n);
    await expect(
      database.db.transaction().execute(async (tx) => {
        await insert(tx, 13);
        await insert(tx, 10);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    const kept = await sql<{ id: number }>`select id from items where id >= 10 order by id`.execute(
      database.db,
    );
    expect(kept.rows.map((r) => r.id)).toEqual([10, 11, 12]);
    // The session is usable at once, and the named statement too.
    expect((await insert(database.db, 14)).numInsertedOrUpdatedRows).toBe(1n);
  });

  it('survives migrations: a changed result type fails once and a statement that no longer prepares keeps its error', async () => {
    const all = (id: number) => sql`select * from items where id = ${id}`.execute(database.db);
    for (let i = 0; i < 4; i++) await all(1);
    const named = (await prepared(database)).length;
    await sql`alter table items add column note text`.execute(database.db);
    await expect(all(1)).rejects.toMatchObject({ code: '0A000' });
    const after = await all(1);
    expect(Object.keys(after.rows[0] as object)).toContain('note');
    expect(await prepared(database)).toHaveLength(named - 1);

    const noted = (id: number) => sql`select note from items where id = ${id}`.execute(database.db);
    for (let i = 0; i < 2; i++) await noted(1);
    await sql`alter table items drop column note`.execute(database.db);
    // Its third run would name it: the preparation's own error is what the caller sees, every time.
    await expect(noted(1)).rejects.toMatchObject({ code: '42703' });
    await expect(noted(1)).rejects.toMatchObject({ code: '42703' });
    expect(await prepared(database)).toHaveLength(named - 1);
  });
});

/**
 * A named statement keeps the generic plan PostgreSQL chose the first times it ran: for a lookup by blind index
 * run while identities was nearly empty, a scan of the tenant's every identity. The lookups by identity are
 * planned on every call; the resolver's other statements are still named.
 */
describe.runIf(hasService('postgres'))('lookups by identity on PostgreSQL', () => {
  let t: TestApp;
  let single: Database;
  beforeAll(async () => {
    t = await createTestApp('postgres');
    single = await openDatabase({ databaseUrl: t.databaseUrl!, dataDir: '', poolSize: 1 });
  });
  afterAll(async () => {
    await single?.close();
    await t?.close();
  });

  it('are planned on every call, however often they run', async () => {
    const tenant = await t.ctx.tenants.getDefault();
    const resolver = createSubjectResolver({ keyring: t.ctx.keyring, keys: t.ctx.subjectKeys });
    const people = Array.from({ length: 6 }, () => fakePerson());
    for (const round of [0, 1]) {
      for (const p of people) {
        const phone = { kind: 'phone' as const, value: p.e164 };
        const made = await single.db
          .transaction()
          .execute((tx) => resolver.findOrCreate(tx, tenant.id, [phone], { profileName: p.name }));
        expect(made.created).toBe(round === 0);
        expect(await resolver.find(single.db, tenant.id, [phone])).toBe(made.id);
        const found = await findSubjectWithIdentities(
          single.db,
          { subjects: resolver, subjectKeys: t.ctx.subjectKeys },
          tenant.id,
          phone,
        );
        expect(found).toEqual({ subjectId: made.id, identities: [phone] });
      }
    }
    const names = (
      await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(single.db)
    ).rows.map((r) => r.statement);
    // The mechanism is on: the resolver's statements run this often are named...
    expect(names.some((s) => s.startsWith('select pg_advisory_xact_lock'))).toBe(true);
    // ...but none of those that look an identity up by its blind index.
    expect(names.filter((s) => /blind_index = any/.test(s) && /from "identities"/.test(s))).toEqual([]);
  });
});

/**
 * A transaction's BEGIN is held back and written with its first statement (the pool's clients pipeline): one
 * round trip less per transaction. The statements still run inside the transaction, with its isolation level,
 * and an empty transaction sends nothing. What the client is asked to send is recorded on the real `pg` client.
 */
describe.runIf(hasService('postgres'))('transactions on PostgreSQL', () => {
  let pgdb: Awaited<ReturnType<typeof createPgDatabase>>;
  let database: Database;
  const sent: { text: string; answered: boolean; pipelined: boolean }[] = [];
  const pgClient = pg.Client;
  const original = pgClient.prototype.query;
  beforeAll(async () => {
    pgdb = await createPgDatabase();
    database = await openDatabase({ databaseUrl: pgdb.url, dataDir: '', poolSize: 1 });
    await sql`create table items (id int primary key, label text)`.execute(database.db);
    pgClient.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string };
      const text = typeof config === 'string' ? config : (config.text ?? '');
      const entry = { text, answered: false, pipelined: this.pipeline };
      sent.push(entry);
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      if (result instanceof Promise) {
        void result.then(
          () => (entry.answered = true),
          () => (entry.answered = true),
        );
      }
      return result;
    } as typeof original;
  });
  afterAll(async () => {
    pgClient.prototype.query = original;
    await database?.close();
    await pgdb?.drop();
  });
  const texts = () => sent.map((s) => s.text.trim().split(/\s+/).slice(0, 2).join(' ').toLowerCase());

  it('sends BEGIN, the statements and COMMIT, and runs the statements in one transaction', async () => {
    sent.length = 0;
    const [first, second] = await database.db.transaction().execute(async (tx) => {
      const a = await sql<{ t: Date }>`select now() as t`.execute(tx);
      const b = await sql<{ t: Date }>`select now() as t from pg_sleep(0.02)`.execute(tx);
      return [a.rows[0]!.t, b.rows[0]!.t];
    });
    expect(texts()).toEqual(['begin', 'select now()', 'select now()', 'commit']);
    // now() is the transaction's start: the same in both statements, 20 ms apart, only inside one transaction.
    expect(second.getTime()).toBe(first.getTime());
  });

  it('hands the first statement over before BEGIN is answered', async () => {
    sent.length = 0;
    let beginAnswered: boolean | undefined;
    await database.db.transaction().execute(async (tx) => {
      const pending = sql`select 1`.execute(tx);
      beginAnswered = sent.find((s) => s.text === 'begin')?.answered;
      await pending;
    });
    expect(beginAnswered).toBe(false);
    // ...to a client that writes it at once rather than after BEGIN's answer.
    expect(sent.map((s) => s.pipelined)).toEqual([true, true, true]);
  });

  it('rolls the first statement back with the transaction, and a failing first statement leaves the connection usable', async () => {
    await expect(
      database.db.transaction().execute(async (tx) => {
        await sql`insert into items values (1, 'one')`.execute(tx);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    await sql`insert into items values (2, 'two')`.execute(database.db);
    await expect(
      database.db.transaction().execute(async (tx) => {
        await sql`insert into items values (2, 'again')`.execute(tx);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    const { rows } = await sql<{ id: number }>`select id from items order by id`.execute(database.db);
    expect(rows.map((r) => r.id)).toEqual([2]);
  });

  it('keeps the isolation level asked for', async () => {
    const level = await database.db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(async (tx) => {
        const { rows } = await sql<{
          level: string;
        }>`select current_setting('transaction_isolation') as level`.execute(tx);
        return rows[0]!.level;
      });
    expect(level).toBe('serializable');
  });

  it('sends nothing for a transaction that runs no statement', async () => {
    sent.length = 0;
    expect(await database.db.transaction().execute(async () => 'done')).toBe('done');
    await expect(
      database.db.transaction().execute(async () => {
        throw new Error('nothing to undo');
      }),
    ).rejects.toThrow('nothing to undo');
    expect(sent).toEqual([]);
  });
});
