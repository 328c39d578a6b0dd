import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { ChainRecord } from './chain-hash.js';

/** The audit log's SQL. seq is a bigint: always read as text and turned into a number here. */

/** Transaction-scoped advisory lock that serialises appends (migrations use 7_305_118_001). */
const AUDIT_APPEND_LOCK = 7_305_118_002;

export interface StoredAuditRow extends ChainRecord {
  prev_hash: string;
  hash: string;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/** Wait for the append lock; held until the caller's transaction ends. */
export async function lockAppends(tx: Kysely<DB>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK}::bigint)`.execute(tx);
}

/** Under the append lock: the checkpoint to link to (undefined for an empty log) and the next seq. */
export async function reserveNext(tx: Kysely<DB>): Promise<{ seq: number; head: ChainHead | undefined }> {
  const r = await sql<{ seq: string; head_seq: string | null; head_hash: string | null }>`
    select nextval(pg_get_serial_sequence('audit_log', 'seq'))::text as seq,
           h.seq::text as head_seq, h.hash as head_hash
    from (select 1) one left join audit_head h on h.id`.execute(tx);
  const row = r.rows[0];
  if (!row) throw new Error('audit: no sequence value');
  return {
    seq: Number(row.seq),
    head:
      row.head_seq !== null && row.head_hash !== null
        ? { seq: Number(row.head_seq), hash: row.head_hash }
        : undefined,
  };
}

/** Insert the row and move the checkpoint to it, in one statement. */
export async function insertRowAndCheckpoint(tx: Kysely<DB>, row: StoredAuditRow): Promise<void> {
  await sql`
    with ins as (
      insert into audit_log (seq, id, tenant_id, occurred_at, actor_type, actor_id, event_type, subject_ref,
                             key_version, request_id, data, prev_hash, hash)
      values (${row.seq}, ${row.id}, ${row.tenant_id}, ${row.occurred_at.toISOString()}::timestamptz,
              ${row.actor_type}, ${row.actor_id}, ${row.event_type}, ${row.subject_ref}, ${row.key_version},
              ${row.request_id}, ${JSON.stringify(row.data)}::jsonb, ${row.prev_hash}, ${row.hash})
      returning seq, hash
    )
    insert into audit_head (id, seq, hash, updated_at)
    select true, seq, hash, now() from ins
    on conflict (id) do update set seq = excluded.seq, hash = excluded.hash, updated_at = excluded.updated_at`.execute(
    tx,
  );
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
