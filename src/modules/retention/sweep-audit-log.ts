import { sql, type Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { appendAudit } from '../audit/index.js';
import type { BatchSweep } from './sweep-batches.js';

/**
 * Audit rows past their legal period. The log is a hash chain, so rows can only go as a whole prefix: the rows
 * from the start of the chain up to (not including) the first row that is still within the period. Each batch
 * is one transaction that (1) writes an `audit_archive` checkpoint with the seq, hash and time of the last row
 * of the batch, (2) deletes the batch (the DELETE trigger lets through only rows a checkpoint covers) and (3)
 * appends an `audit.archived` event at the chain's tail. `audit verify` starts from the latest checkpoint: the
 * first remaining row must link to its hash.
 */
export function auditLogSweep(
  db: Kysely<DB>,
  deps: { keyring: Pick<Keyring, 'hmac'>; tenantId: string },
  cutoff: Date,
): BatchSweep {
  /** The first seq still within the period (or none: every row has expired). */
  const boundary = sql`(select seq from audit_log where occurred_at >= ${cutoff} order by seq limit 1)`;
  return {
    async count() {
      const r = await sql<{ n: string }>`
        select count(*)::text as n from audit_log
        where seq < coalesce(${boundary}, 9223372036854775807)`.execute(db);
      return Number(r.rows[0]?.n ?? 0);
    },
    batch(limit) {
      return db.transaction().execute(async (tx) => {
        const from = await sql<{ seq: string | null }>`
          select max(through_seq)::text as seq from audit_archive`.execute(tx);
        const after = from.rows[0]?.seq ?? '0';
        const rows = await sql<{ seq: string; hash: string; occurred_at: Date; expired: boolean }>`
          select seq::text as seq, hash, occurred_at, occurred_at < ${cutoff} as expired
          from audit_log where audit_log.seq > ${after}::bigint order by audit_log.seq limit ${sql.lit(limit)}`.execute(
          tx,
        );
        const prefix: typeof rows.rows = [];
        for (const r of rows.rows) {
          if (!r.expired) break;
          prefix.push(r);
        }
        const last = prefix.at(-1);
        if (!last) return 0;
        await tx
          .insertInto('audit_archive')
          .values({
            through_seq: last.seq,
            through_hash: last.hash,
            through_occurred_at: last.occurred_at,
            rows: prefix.length,
          })
          .execute();
        const deleted =
          await sql`delete from audit_log where seq > ${after}::bigint and seq <= ${last.seq}::bigint`.execute(
            tx,
          );
        await appendAudit(tx, deps.keyring, {
          type: 'audit.archived',
          tenantId: deps.tenantId,
          actor: { type: 'system', id: 'retention' },
          data: { through_seq: Number(last.seq), rows: Number(deleted.numAffectedRows ?? 0n) },
        });
        return Number(deleted.numAffectedRows ?? 0n);
      });
    },
  };
}
