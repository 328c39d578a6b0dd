import { sql, type Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { appendAudit } from '../audit/index.js';
import { eraseOwnData } from '../dsr/erase-own-data.js';
import type { BatchSweep } from './sweep-batches.js';

/** People erased per transaction: each is several statements and an audit event. */
export const CONTACTS_PER_BATCH = 50;

/**
 * Contacts not seen for the retention period are erased from the own store exactly as an erasure request
 * would (eraseOwnData, scope all, with the same dependencies): every row goes with the subject, the data key is
 * shredded, stored media files are queued for deletion, an opt-out's suppression entries are kept. Not swept: restricted subjects (GDPR Art. 18: kept, e.g. for a legal claim) and
 * anyone with an open privacy request (the request finishes first). Each erasure writes an `erasure.own_store`
 * audit event by the `retention` actor in the same transaction.
 */
export function inactiveContactsSweep(
  db: Kysely<DB>,
  deps: Parameters<typeof eraseOwnData>[1] & { keyring: Pick<Keyring, 'hmac'> },
  cutoff: Date,
): BatchSweep {
  const expired = sql<boolean>`s.last_seen_at < ${cutoff} and not s.restricted and not exists (
    select 1 from privacy_requests r where r.subject_id = s.id
      and r.status not in ('completed', 'failed', 'denied'))`;
  return {
    batchLimit: CONTACTS_PER_BATCH,
    async count() {
      const r = await sql<{ n: string }>`select count(*)::text as n from subjects s where ${expired}`.execute(
        db,
      );
      return Number(r.rows[0]?.n ?? 0);
    },
    batch(limit) {
      return db.transaction().execute(async (tx) => {
        const picked = await sql<{ id: string; tenant_id: string }>`
          select s.id, s.tenant_id from subjects s where ${expired}
          order by s.last_seen_at limit ${sql.lit(limit)} for update skip locked`.execute(tx);
        for (const s of picked.rows) {
          const counts = await eraseOwnData(tx, deps, {
            tenantId: s.tenant_id,
            subjectId: s.id,
            scope: 'all',
          });
          await appendAudit(tx, deps.keyring, {
            type: 'erasure.own_store',
            tenantId: s.tenant_id,
            actor: { type: 'system', id: 'retention' },
            subject: { subjectId: s.id },
            data: { scope: 'all', counts: { ...counts } },
          });
        }
        return picked.rows.length;
      });
    },
  };
}
