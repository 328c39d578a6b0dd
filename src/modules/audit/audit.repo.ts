import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { ChainRecord } from './chain-hash.js';

/** The audit log's SQL. seq is a bigint: always read as text and turned into a number here. */

/**
 * Transaction-scoped advisory lock that serialises appends while the log has no checkpoint row yet (the first
 * append ever); afterwards the checkpoint row's lock does (migrations use 7_305_118_001).
 */
const AUDIT_APPEND_LOCK = 7_305_118_002;

export interface StoredAuditRow extends ChainRecord {
  prev_hash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * The query that locks the chain's checkpoint row and reads it (`seq` as text, `hash`), as lockHead runs it: to
 * run inside another statement of the transaction, `when` it holds (see adoptLockedHead). No row before the
 * first append ever (lockHead then takes the advisory lock).
 */
export function headForUpdate(when: RawBuilder<unknown> = sql`true`): RawBuilder<unknown> {
  return sql`select seq::text as seq, hash from audit_head where id and ${when} for update`;
}

/**
 * Lock the chain for this transaction and read its checkpoint (undefined for an empty log). The checkpoint row's
 * FOR UPDATE lock serialises appends and, under READ COMMITTED, returns the row as the last append committed
 * it, in one statement. Before the first append there is no row to lock: the advisory lock serialises those,
 * and the re-read under it locks the row if a concurrent first append has created it meanwhile.
 */
export async function lockHead(tx: Kysely<DB>): Promise<ChainHead | undefined> {
  const read = async () => (await sql<{ seq: string; hash: string }>`${headForUpdate()}`.execute(tx)).rows[0];
  let row = await read();
  if (!row) {
    await sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK}::bigint)`.execute(tx);
    row = await read();
  }
  return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
}

/** The body of a CTE, in its parentheses (its rows are read only by the statement around it). */
export type AuditCte = RawBuilder<Record<string, unknown>>;

/**
 * The bodies of the two CTEs that insert the rows (consecutive, each linking to the one before) and move the
 * checkpoint to the last, only if the checkpoint is still the first row's prev_hash (the genesis hash for an
 * empty log): `audit_rows`, then `audit_moved`, which returns the new checkpoint's `seq` (no row when nothing
 * was written). The rows travel as one jsonb array, so the statement's text is the same for any number of rows
 * (one prepared statement). For insertRowsAndCheckpoint's statement or another one (see auditWritten).
 */
export function auditInsertCtes(
  rows: readonly StoredAuditRow[],
  genesisHash: string,
): { audit_rows: AuditCte; audit_moved: AuditCte } {
  const json = JSON.stringify(rows.map((r) => ({ ...r, occurred_at: r.occurred_at.toISOString() })));
  return {
    audit_rows: sql<Record<string, unknown>>`(
      insert into audit_log (seq, id, tenant_id, occurred_at, actor_type, actor_id, event_type, subject_ref,
                             key_version, request_id, data, prev_hash, hash)
      select r.seq, r.id, r.tenant_id, r.occurred_at, r.actor_type, r.actor_id, r.event_type, r.subject_ref,
             r.key_version, r.request_id, r.data, r.prev_hash, r.hash
      from jsonb_to_recordset(${json}::jsonb) as r(seq bigint, id uuid, tenant_id text, occurred_at timestamptz,
             actor_type text, actor_id text, event_type text, subject_ref text, key_version text, request_id uuid,
             data jsonb, prev_hash text, hash text)
      where coalesce((select hash from audit_head where id), ${genesisHash}) = ${rows[0]?.prev_hash ?? ''}
      returning seq, hash)`,
    audit_moved: sql<Record<string, unknown>>`(
      insert into audit_head (id, seq, hash, updated_at)
      select true, seq, hash, now() from audit_rows order by seq desc limit 1
      on conflict (id) do update set seq = excluded.seq, hash = excluded.hash, updated_at = excluded.updated_at
      returning seq)`,
  };
}

/** Whether auditInsertCtes wrote all of `rows`: `movedTo` is audit_moved's seq (as text), if any. */
export function auditWritten(rows: readonly StoredAuditRow[], movedTo: string | null | undefined): boolean {
  return movedTo != null && Number(movedTo) === rows[rows.length - 1]?.seq;
}

/**
 * Insert the rows and move the checkpoint (auditInsertCtes) in a statement of their own. False when the
 * checkpoint is not the first row's prev_hash: the caller's idea of the tail is stale (a savepoint rolled back an
 * earlier append of this transaction) and nothing was written.
 */
export async function insertRowsAndCheckpoint(
  tx: Kysely<DB>,
  rows: readonly StoredAuditRow[],
  genesisHash: string,
): Promise<boolean> {
  if (rows.length === 0) return true;
  const cte = auditInsertCtes(rows, genesisHash);
  const r = await sql<{ seq: string }>`
    with audit_rows as ${cte.audit_rows}, audit_moved as ${cte.audit_moved}
    select seq::text as seq from audit_moved`.execute(tx);
  return r.rows.length === 1 && auditWritten(rows, r.rows[0]!.seq);
}

export async function readHead(db: Kysely<DB>): Promise<ChainHead | undefined> {
  const row = await db
    .selectFrom('audit_head')
    .select([sql<string>`seq::text`.as('seq'), 'hash'])
    .where('id', '=', true)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
}

/** Rows with seq > afterSeq, in order (keyset pagination). */
export async function readBatch(db: Kysely<DB>, afterSeq: number, limit: number): Promise<StoredAuditRow[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select([
      sql<string>`seq::text`.as('seq'),
      'id',
      'tenant_id',
      'occurred_at',
      'actor_type',
      'actor_id',
      'event_type',
      'subject_ref',
      'key_version',
      'request_id',
      'data',
      'prev_hash',
      'hash',
    ])
    .where(sql<boolean>`audit_log.seq > ${afterSeq}::bigint`)
    .orderBy('audit_log.seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq), occurred_at: new Date(r.occurred_at) }));
}

/** The last row before `seq` (where a partial verification starts from). */
export async function readRowBefore(db: Kysely<DB>, seq: number): Promise<ChainHead | undefined> {
  const row = await db
    .selectFrom('audit_log')
    .select([sql<string>`seq::text`.as('seq'), 'hash'])
    .where(sql<boolean>`audit_log.seq < ${seq}::bigint`)
    .orderBy('audit_log.seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
}

/** The first row after `seq`, if any. */
export async function firstSeqAfter(db: Kysely<DB>, seq: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('audit_log')
    .select(sql<string>`seq::text`.as('seq'))
    .where(sql<boolean>`audit_log.seq > ${seq}::bigint`)
    .orderBy('audit_log.seq')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.seq) : undefined;
}

/**
 * The latest archive checkpoint: the seq and hash of the last row of the prefix deleted after its legal period
 * (retention). The remaining chain links to it as it linked to that row.
 */
export async function readArchiveAnchor(db: Kysely<DB>): Promise<ChainHead | undefined> {
  const row = await db
    .selectFrom('audit_archive')
    .select([sql<string>`through_seq::text`.as('seq'), 'through_hash'])
    .orderBy('audit_archive.through_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.through_hash } : undefined;
}
