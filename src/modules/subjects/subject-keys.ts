import { sql, type Kysely } from 'kysely';
import { createFieldCipher, newDataKey, type FieldCipher, type Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { KeyStore } from '../keys/index.js';

/**
 * Per-subject data keys, kept wrapped in the key store (apart from the database and its backups) under `ref`,
 * the keyed HMAC of the subject id. A key is created with its subject and destroyed after it: deleting the
 * subject row records an erasure journal entry in the same transaction (a trigger), and the shred job deletes
 * the key from the key store right after the commit. Until then, and for good after, `cipher` refuses a
 * subject with a journal entry, so nothing decrypts with the key of an erased person. Unwrapped keys are
 * cached in a bounded LRU so hot subjects cost one AES unwrap, not one per field.
 */
export function createSubjectKeys(deps: {
  keyring: Keyring;
  keyStore: Pick<KeyStore, 'put' | 'get'>;
  /** Ask for the shred job to run (inside the erasing transaction: it runs once that commits). */
  requestShred?: (tx: Kysely<DB>) => Promise<unknown>;
  cacheSize?: number;
}) {
  const cache = new Map<string, Buffer>();
  const max = deps.cacheSize ?? 10_000;
  const refOf = (subjectId: string) => deps.keyring.hmac('subject-ref', subjectId);

  function remember(subjectId: string, key: Buffer): void {
    cache.delete(subjectId);
    cache.set(subjectId, key);
    if (cache.size > max) cache.delete(cache.keys().next().value as string);
  }

  async function journaled(db: Kysely<DB>, subjectId: string, ref: string): Promise<boolean> {
    const row = await db
      .selectFrom('erasure_journal')
      .select(sql<number>`1`.as('x'))
      .where((eb) => eb.or([eb('subject_id', '=', subjectId), eb('ref', '=', ref)]))
      .executeTakeFirst();
    return row !== undefined;
  }

  return {
    /** The key store reference of a subject (keyed HMAC of its id); the erasure journal uses it too. */
    ref: refOf,
    /**
     * Create a data key for a new subject. The wrapped key is written to the key store before the caller's
     * transaction commits (a rollback leaves an unused key, never a subject without one).
     */
    async create(_db: Kysely<DB>, tenantId: string, subjectId: string): Promise<FieldCipher> {
      const key = newDataKey();
      const ref = refOf(subjectId);
      await deps.keyStore.put({
        ref,
        tenantId,
        wrapped: deps.keyring.wrapDataKey(key, ref),
        masterVersion: deps.keyring.masterVersion,
      });
      remember(subjectId, key);
      return createFieldCipher(key);
    },
    /** The cipher for an existing subject; undefined when its key is gone or it has been erased. */
    async cipher(db: Kysely<DB>, subjectId: string): Promise<FieldCipher | undefined> {
      const ref = refOf(subjectId);
      // Checked on every call, cached key or not: a subject deleted by any path (another instance, a sweep)
      // is journalled in the deleting transaction, and from its commit on nothing decrypts with its key.
      if (await journaled(db, subjectId, ref)) {
        cache.delete(subjectId);
        return undefined;
      }
      let key = cache.get(subjectId);
      if (!key) {
        const stored = await deps.keyStore.get(ref);
        if (!stored) return undefined;
        key = deps.keyring.unwrapDataKey(stored.wrapped, ref, stored.masterVersion);
      }
      remember(subjectId, key);
      return createFieldCipher(key);
    },
    /**
     * Inside the transaction that deletes the subject: forget the cached key and ask for the shred job (the
     * journal entry itself is written by the delete's trigger, whoever deletes).
     */
    async shred(tx: Kysely<DB>, subjectId: string): Promise<void> {
      cache.delete(subjectId);
      await deps.requestShred?.(tx);
    },
    /** Forget a subject's cached key. */
    forget(subjectId: string): void {
      cache.delete(subjectId);
    },
  };
}

export type SubjectKeys = ReturnType<typeof createSubjectKeys>;
