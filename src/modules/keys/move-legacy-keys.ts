import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { KeyStore } from './key-store.js';

/**
 * Installations from before the key store kept wrapped keys in the `subject_keys` table of the database they
 * protect. At start-up they are moved: unwrapped (AAD: the subject id), wrapped again for their ref under the
 * current master key, written to the key store, then deleted from the table, batch by batch. Idempotent: a
 * crash between the put and the delete only repeats the put.
 */
export async function moveLegacyKeys(
  deps: { db: Kysely<DB>; keyring: Keyring; keyStore: Pick<KeyStore, 'put'> },
  batchSize = 500,
): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await deps.db
      .selectFrom('subject_keys')
      .select(['subject_id', 'tenant_id', 'wrapped_key', 'master_version'])
      .orderBy('subject_id')
      .limit(batchSize)
      .execute();
    if (rows.length === 0) return moved;
    for (const row of rows) {
      const ref = deps.keyring.hmac('subject-ref', row.subject_id);
      const key = deps.keyring.unwrapDataKey(row.wrapped_key, row.subject_id, row.master_version);
      try {
        await deps.keyStore.put({
          ref,
          tenantId: row.tenant_id,
          wrapped: deps.keyring.wrapDataKey(key, ref),
          masterVersion: deps.keyring.masterVersion,
        });
      } finally {
        key.fill(0);
      }
    }
    await deps.db
      .deleteFrom('subject_keys')
      .where(
        'subject_id',
        'in',
        rows.map((r) => r.subject_id),
      )
      .execute();
    moved += rows.length;
  }
}
