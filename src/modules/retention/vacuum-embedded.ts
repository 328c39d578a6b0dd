import { sql } from 'kysely';
import type { Database } from '../../lib/db/database.js';
import { sleep } from './sweep-batches.js';

/**
 * The embedded store has no autovacuum: PGlite runs no background workers, whatever its settings say. Without
 * it, the rows that erasures, retention sweeps and the job queue delete stay in the store's files for good (the
 * tables and their indexes only grow, and an erased person's rows, encrypted under a shredded key, keep their
 * blind indexes on disk), and the statistics lookups are planned from are never refreshed.
 *
 * After each retention sweep every table is vacuumed and analyzed, one statement per table with a pause between
 * them, so that requests waiting for the single embedded connection get their turn. A table with nothing to
 * clear costs little: VACUUM skips the pages its visibility map marks all-visible.
 * Returns how many tables were vacuumed; on PostgreSQL, none (that is autovacuum's work).
 */
export async function vacuumEmbeddedStore(
  database: Pick<Database, 'kind' | 'db'>,
  opts: { pauseMs: number; shouldStop(): boolean },
): Promise<number> {
  if (database.kind !== 'pglite') return 0;
  const { rows } = await sql<{ name: string }>`
    select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
    order by 1`.execute(database.db);
  let vacuumed = 0;
  for (const { name } of rows) {
    if (opts.shouldStop()) break;
    // The name comes from the catalog, quoted by quote_ident.
    await sql`vacuum (analyze) ${sql.raw(name)}`.execute(database.db);
    vacuumed++;
    if (opts.pauseMs > 0) await sleep(opts.pauseMs);
  }
  return vacuumed;
}
