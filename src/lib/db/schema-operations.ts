import type { ColumnType, Generated } from 'kysely';
import type { Json, Timestamp } from './schema-columns.js';

/** Operational tables (job claims, retention lease, audit archive, migrations, journals): see ./schema.ts. */

/** Long jobs in hand, by the instance (advisory-lock number) of the process running them. */
export interface JobClaimsTable {
  job_id: string;
  queue: string;
  instance: number;
  claimed_at: Generated<Timestamp>;
}

/** The retention sweeper's lease (one row): one sweep at a time, and what the last one did. */
export interface RetentionLeaseTable {
  id: ColumnType<boolean, boolean | undefined, never>;
  owner: string;
  lease_until: Timestamp;
  started_at: Timestamp;
  finished_at: Date | null;
  summary: Json<Record<string, unknown>>;
}

/** Checkpoints of audit-log prefixes deleted after their legal period (append-only). */
export interface AuditArchiveTable {
  through_seq: ColumnType<string, string | number, never>;
  through_hash: ColumnType<string, string, never>;
  through_occurred_at: ColumnType<Date, Date | string, never>;
  rows: ColumnType<string, string | number, never>;
  archived_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: Timestamp;
}

/**
 * Deleted subjects, recorded by a trigger in the deleting transaction; the shred job deletes their keys from the
 * key store and swaps `subject_id` for `ref` (keyed HMAC of the subject id).
 */
export interface ErasureJournalTable {
  id: Generated<string>;
  tenant_id: string;
  subject_id: string | null;
  ref: string | null;
  erased_at: Timestamp;
  shredded_at: Date | null;
}

/** Stored media objects whose row went (any path; a trigger), waiting for the media workers to delete them. */
export interface MediaDeletionsTable {
  storage_key: string;
  tenant_id: string;
  recorded_at: Generated<Date>;
}
