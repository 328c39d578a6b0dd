import { sql } from 'kysely';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';

const LOCK_ID = 7_305_118_001; // pg_advisory lock shared by every flowguard instance migrating one database

export interface MigrationStatus {
  current: number;
  latest: number;
}

async function ensureTable(database: Database): Promise<void> {
  await sql`create table if not exists schema_migrations (
    version integer primary key, name text not null, applied_at timestamptz not null default now())`.execute(
    database.db,
  );
}

/** Apply pending migrations, each in its own transaction, under an advisory lock so instances can race safely. */
export async function migrate(database: Database): Promise<{ applied: number[] }> {
  await ensureTable(database);
  const applied: number[] = [];
  for (const m of migrations) {
    const did = await database.db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${LOCK_ID})`.execute(tx);
      const done = await tx
        .selectFrom('schema_migrations')
        .select('version')
        .where('version', '=', m.version)
        .executeTakeFirst();
      if (done) return false;
      await sql.raw(m.up).execute(tx);
      await tx.insertInto('schema_migrations').values({ version: m.version, name: m.name }).execute();
      return true;
    });
    if (did) applied.push(m.version);
  }
  return { applied };
}

export async function migrationStatus(database: Database): Promise<MigrationStatus> {
  await ensureTable(database);
  const row = await database.db
    .selectFrom('schema_migrations')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  return { current: Number(row?.v ?? 0), latest: migrations.at(-1)?.version ?? 0 };
}
