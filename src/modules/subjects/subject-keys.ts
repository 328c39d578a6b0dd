import type { Kysely } from 'kysely';
import { createFieldCipher, newDataKey, type FieldCipher, type Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';

/**
 * Per-subject data keys. A key is created with its subject and deleted with it (crypto-shredding). Unwrapped
 * keys are cached in a bounded LRU so hot subjects cost one AES unwrap, not one per field.
 */
export function createSubjectKeys(deps: { keyring: Keyring; cacheSize?: number }) {
  const cache = new Map<string, Buffer>();
  const max = deps.cacheSize ?? 10_000;

  function remember(subjectId: string, key: Buffer): void {
    cache.delete(subjectId);
    cache.set(subjectId, key);
    if (cache.size > max) cache.delete(cache.keys().next().value as string);
  }

  return {
    /** Create and store a new data key for a new subject, inside the caller's transaction. */
    async create(db: Kysely<DB>, tenantId: string, subjectId: string): Promise<FieldCipher> {
      const key = newDataKey();
      await db
        .insertInto('subject_keys')
        .values({
          subject_id: subjectId,
          tenant_id: tenantId,
          wrapped_key: deps.keyring.wrapDataKey(key, subjectId),
          master_version: deps.keyring.masterVersion,
        })
        .execute();
      remember(subjectId, key);
      return createFieldCipher(key);
    },
    /** The cipher for an existing subject; undefined when its key is gone (erased). */
    async cipher(db: Kysely<DB>, subjectId: string): Promise<FieldCipher | undefined> {
      let key = cache.get(subjectId);
      if (!key) {
        const row = await db
          .selectFrom('subject_keys')
          .select('wrapped_key')
          .where('subject_id', '=', subjectId)
          .executeTakeFirst();
        if (!row) return undefined;
        key = deps.keyring.unwrapDataKey(row.wrapped_key, subjectId);
      }
      remember(subjectId, key);
      return createFieldCipher(key);
    },
    /** Forget a subject's key (after erasure); the caller deletes the row in its transaction. */
    forget(subjectId: string): void {
      cache.delete(subjectId);
    },
  };
}

export type SubjectKeys = ReturnType<typeof createSubjectKeys>;
