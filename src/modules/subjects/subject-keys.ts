import { sql, type Kysely } from 'kysely';
import { createFieldCipher, newDataKey, type FieldCipher, type Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { KeyStore } from '../keys/index.js';

/**
 * Per-subject data keys, kept wrapped in the key store (apart from the database and its backups) under `ref`,
 * the keyed HMAC of the subject id. A key is created with its subject and destroyed after it: deleting the
 * subject row records an erasure journal entry in the same transaction (a trigger), and the shred job, woken by
 * the journal's own trigger, deletes the key from the key store right after the commit. Until then, and for good
 * after, `cipher` refuses a subject with a journal entry, so nothing decrypts with the key of an erased person.
 * Unwrapped keys are cached in a bounded LRU so hot subjects cost one AES unwrap, not one per field.
 */
export function createSubjectKeys(deps: {
  keyring: Keyring;
  keyStore: Pick<KeyStore, 'putMany' | 'get'>;
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

  /** The subject's data key: cached, else unwrapped from the key store; undefined once it has been shredded. */
  async function loadKey(subjectId: string, ref: string): Promise<Buffer | undefined> {
    let key = cache.get(subjectId);
    if (!key) {
      const stored = await deps.keyStore.get(ref);
      if (!stored) return undefined;
      key = deps.keyring.unwrapDataKey(stored.wrapped, ref, stored.masterVersion);
    }
    remember(subjectId, key);
    return key;
  }

  /** The subject ids and refs among these that have an erasure journal entry. */
  async function journaled(db: Kysely<DB>, subjectIds: string[], refs: string[]): Promise<Set<string>> {
    // `= any(array)`: one statement text whatever the count, so it stays a prepared statement.
    const { rows } = await sql<{ subject_id: string | null; ref: string | null }>`
      select subject_id, ref from erasure_journal
      where subject_id = any(${subjectIds}::uuid[]) or ref = any(${refs}::text[])`.execute(db);
    return new Set(rows.flatMap((r) => [r.subject_id, r.ref]).filter((x): x is string => x !== null));
  }

  /**
   * The ciphers of existing subjects (one journal lookup for all); a subject whose key is gone or that has been
   * erased is missing from the map.
   */
  async function ciphers(db: Kysely<DB>, subjectIds: readonly string[]): Promise<Map<string, FieldCipher>> {
    const out = new Map<string, FieldCipher>();
    if (subjectIds.length === 0) return out;
    const refs = new Map(subjectIds.map((id) => [id, refOf(id)]));
    // Checked on every call, cached key or not: a subject deleted by any path (another instance, a sweep)
    // is journalled in the deleting transaction, and from its commit on nothing decrypts with its key.
    const gone = await journaled(db, [...refs.keys()], [...refs.values()]);
    await Promise.all(
      [...refs].map(async ([subjectId, ref]) => {
        if (gone.has(subjectId) || gone.has(ref)) {
          cache.delete(subjectId);
          return;
        }
        const key = await loadKey(subjectId, ref);
        if (key) out.set(subjectId, createFieldCipher(key));
      }),
    );
    return out;
  }

  return {
    /** The key store reference of a subject (keyed HMAC of its id); the erasure journal uses it too. */
    ref: refOf,
    /**
     * Create data keys for new subjects: their ciphers at once, and `stored`, the one durable write of the keys
     * to the key store, for the caller to await before its transaction commits (alongside its own writes, which
     * need not wait for it: a rollback leaves unused keys, never a subject without one). A failed write fails
     * `stored`, and only the caller that awaits it sees the error.
     */
    createMany(
      tenantId: string,
      subjectIds: readonly string[],
    ): { ciphers: Map<string, FieldCipher>; stored: Promise<void> } {
      const made = subjectIds.map((subjectId) => ({ subjectId, ref: refOf(subjectId), key: newDataKey() }));
      const stored = deps.keyStore
        .putMany(
          made.map(({ ref, key }) => ({
            ref,
            tenantId,
            wrapped: deps.keyring.wrapDataKey(key, ref),
            masterVersion: deps.keyring.masterVersion,
          })),
        )
        .then(() => {
          for (const { subjectId, key } of made) remember(subjectId, key);
        });
      // The caller may fail before it awaits `stored` (its transaction then rolls back): not an unhandled error.
      stored.catch(() => undefined);
      return {
        ciphers: new Map(made.map(({ subjectId, key }) => [subjectId, createFieldCipher(key)])),
        stored,
      };
    },
    /** The cipher for an existing subject; undefined when its key is gone or it has been erased. */
    async cipher(db: Kysely<DB>, subjectId: string): Promise<FieldCipher | undefined> {
      return (await ciphers(db, [subjectId])).get(subjectId);
    },
    /**
     * The cipher to decrypt rows of the subject that the caller has just read in one statement with them: rows
     * that reference the subject (ON DELETE CASCADE) prove it was not erased in that statement's snapshot, as
     * the journal lookup would, so there is none. Undefined when the key is gone from the key store.
     */
    async cipherForRowsRead(subjectId: string): Promise<FieldCipher | undefined> {
      const key = await loadKey(subjectId, refOf(subjectId));
      return key && createFieldCipher(key);
    },
    ciphers,
    /**
     * Forget a subject's cached key: inside the transaction that deletes the subject (its trigger journals the
     * subject, and the journal's wake trigger has the shred job run once the transaction commits).
     */
    forget(subjectId: string): void {
      cache.delete(subjectId);
    },
  };
}

export type SubjectKeys = ReturnType<typeof createSubjectKeys>;
