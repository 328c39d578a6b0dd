import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { KeyStore } from './key-store.js';

export const SHRED_QUEUE = 'keys.shred';

export interface ShredDeps {
  db: Kysely<DB>;
  keyring: Pick<Keyring, 'hmac'>;
  keyStore: Pick<KeyStore, 'delete'>;
  logger?: Pick<Logger, 'info'>;
}

/**
 * Work through the erasure journal: for each subject deleted since the last run, delete its key in the key
 * store (which records the key store's own journal entry in the same step) and replace the subject id in the
 * journal with its keyed reference. Batches are claimed with FOR UPDATE SKIP LOCKED so several workers can
 * run at once; the key store's delete is idempotent, so a crash after it and before the commit only repeats it.
 */
export async function shredPendingKeys(
  deps: ShredDeps,
  opts: { tenantId?: string; batchSize?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 500;
  let total = 0;
  for (;;) {
    const n = await deps.db.transaction().execute(async (tx) => {
      let q = tx
        .selectFrom('erasure_journal')
        .select(['id', 'tenant_id', 'subject_id', 'ref', 'erased_at'])
        .where('shredded_at', 'is', null);
      if (opts.tenantId) q = q.where('tenant_id', '=', opts.tenantId);
      const rows = await q.orderBy('id').limit(batchSize).forUpdate().skipLocked().execute();
      if (rows.length === 0) return 0;
      const entries = rows.map((r) => ({
        id: r.id,
        ref: r.ref ?? deps.keyring.hmac('subject-ref', r.subject_id!),
        tenantId: r.tenant_id,
        erasedAt: new Date(r.erased_at),
      }));
      await deps.keyStore.delete(entries.map(({ ref, tenantId, erasedAt }) => ({ ref, tenantId, erasedAt })));
      await sql`update erasure_journal as j set ref = u.ref, subject_id = null, shredded_at = now()
        from unnest(${entries.map((e) => e.id)}::bigint[], ${entries.map((e) => e.ref)}::text[]) as u(id, ref)
        where j.id = u.id`.execute(tx);
      return rows.length;
    });
    total += n;
    if (n < batchSize) break;
  }
  if (total > 0) deps.logger?.info({ keys: total }, 'subject keys shredded');
  return total;
}

/** How many deleted subjects still wait for their key to be shredded. */
export async function pendingShreds(db: Kysely<DB>, tenantId?: string): Promise<number> {
  let q = db
    .selectFrom('erasure_journal')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('shredded_at', 'is', null);
  if (tenantId) q = q.where('tenant_id', '=', tenantId);
  return Number((await q.executeTakeFirst())?.n ?? 0);
}
