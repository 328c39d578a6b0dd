import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/lib/db/database.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

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

  const prepared = async (db: Database) =>
    (
      await sql<{
        name: string;
        statement: string;
      }>`select name, statement from pg_prepared_statements where name like 'fg_%'`.execute(db.db)
    ).rows;
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
});
