import { sql } from 'kysely';
import type { Database } from './database.js';

/**
 * PostgreSQL settings that keep flowguard's tables healthy and that an operator may have turned off, each as a
 * warning for the log at start-up. Not for the embedded store: PGlite runs no background workers, whatever its
 * settings say.
 *
 * Without autovacuum (or without `track_counts`, which it needs), nothing removes the rows that erasures and
 * retention sweeps delete from the tables' files, and statistics are never refreshed: tables and indexes only
 * grow, and lookups planned while a table was small keep reading it whole.
 */
export async function maintenanceWarnings(database: Pick<Database, 'kind' | 'db'>): Promise<string[]> {
  if (database.kind !== 'postgres') return [];
  const { rows } = await sql<{ autovacuum: string; track_counts: string }>`
    select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as track_counts`.execute(
    database.db,
  );
  const off = (['autovacuum', 'track_counts'] as const).filter((setting) => rows[0]?.[setting] === 'off');
  if (off.length === 0) return [];
  return [
    `PostgreSQL runs with ${off.join(' and ')} off: deleted rows (erasures, retention sweeps) stay in the ` +
      'tables until a VACUUM and statistics are never refreshed, so tables grow and lookups slow down. Turn ' +
      'autovacuum on, or run VACUUM (ANALYZE) on a schedule.',
  ];
}
