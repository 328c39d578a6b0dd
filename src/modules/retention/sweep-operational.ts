import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { KeyStore } from '../keys/index.js';
import type { BatchSweep } from './sweep-batches.js';
import { tableSweep } from './table-sweeps.js';

/**
 * Operational rows that would otherwise grow for ever: admin sessions and sign-in counters that are over, and
 * the erasure journals once no database backup from before the erasure can be restored. None holds personal
 * data beyond keyed hashes and times; they go in the same bounded batches as the rest.
 */
export function operationalSweeps(
  db: Kysely<DB>,
  keyStore: Pick<KeyStore, 'countJournalBefore' | 'purgeJournal'>,
  cutoffs: { adminSessions: Date; loginThrottle: Date; erasureJournal: Date },
): Record<'admin_sessions' | 'login_throttle' | 'erasure_journal' | 'key_store_journal', BatchSweep> {
  return {
    // Ended and idle sessions are over by their absolute expiry at the latest (12 hours after sign-in).
    admin_sessions: tableSweep(db, {
      table: 'admin_sessions',
      keys: ['id_hash'],
      where: sql`expires_at < ${cutoffs.adminSessions}`,
    }),
    // A counter whose window and lock both ran out counts exactly as a missing one.
    login_throttle: tableSweep(db, {
      table: 'admin_login_throttle',
      keys: ['scope', 'key'],
      where: sql`window_started_at < ${cutoffs.loginThrottle}
        and (locked_until is null or locked_until < ${cutoffs.loginThrottle})`,
    }),
    // Shredded entries only (a pending one still has a key to delete); a tenant's offboarding counts its own.
    erasure_journal: tableSweep(db, {
      table: 'erasure_journal',
      keys: ['id'],
      where: sql`shredded_at is not null and erased_at < ${cutoffs.erasureJournal}
        and tenant_id not in (select id from tenants where offboarding_at is not null)`,
    }),
    key_store_journal: {
      count: () => keyStore.countJournalBefore(cutoffs.erasureJournal),
      batch: (limit) => keyStore.purgeJournal(cutoffs.erasureJournal, limit),
    },
  };
}
