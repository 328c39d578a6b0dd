import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { FieldCipher, Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import type { SubjectKeys } from './subject-keys.js';

/** Keyed blind index of one identity within one tenant: equality lookups without storing the plaintext. */
export function blindIndex(keyring: Keyring, tenantId: string, identity: Identity): string {
  return keyring.hmac('blind-index', `${tenantId}\u0000${identity.kind}\u0000${identity.value}`);
}

/** The blind index under every held key version, newest first: lookups find rows written under any of them. */
export function blindIndexes(keyring: Keyring, tenantId: string, identity: Identity): string[] {
  return keyring.hmacAll('blind-index', `${tenantId}\u0000${identity.kind}\u0000${identity.value}`);
}

export interface ResolvedSubject {
  id: string;
  created: boolean;
  cipher: FieldCipher;
  /** GDPR Art. 18: processing is restricted; ingest keeps nothing new about this person. */
  restricted: boolean;
}

export function createSubjectResolver(deps: { keyring: Keyring; keys: SubjectKeys }) {
  async function find(db: Kysely<DB>, tenantId: string, identities: Identity[]): Promise<string | undefined> {
    if (identities.length === 0) return undefined;
    const row = await db
      .selectFrom('identities')
      .select('subject_id')
      .where('tenant_id', '=', tenantId)
      .where(
        'blind_index',
        'in',
        identities.flatMap((i) => blindIndexes(deps.keyring, tenantId, i)),
      )
      .orderBy('created_at')
      .executeTakeFirst();
    return row?.subject_id;
  }

  async function addIdentity(
    db: Kysely<DB>,
    tenantId: string,
    subjectId: string,
    cipher: FieldCipher,
    identity: Identity,
  ) {
    const id = crypto.randomUUID();
    await db
      .insertInto('identities')
      .values({
        id,
        tenant_id: tenantId,
        subject_id: subjectId,
        kind: identity.kind,
        blind_index: blindIndex(deps.keyring, tenantId, identity),
        blind_index_version: deps.keyring.hmacVersion('blind-index'),
        value: cipher.encrypt(identity.value, 'identities', 'value', id),
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'blind_index']).doNothing())
      .execute();
  }

  return {
    find,
    addIdentity,
    /**
     * Find the subject any of these identities belongs to, or create one; identities not yet linked are added.
     * Must run inside the caller's transaction: concurrent first contacts of one person are serialised by a
     * transaction-scoped advisory lock per blind index, so one person never becomes two subjects.
     */
    async findOrCreate(db: Kysely<DB>, tenantId: string, identities: Identity[]): Promise<ResolvedSubject> {
      const indexes = identities.map((i) => blindIndex(deps.keyring, tenantId, i)).sort();
      for (const bi of indexes) {
        await sql`select pg_advisory_xact_lock(hashtextextended(${bi}, 0))`.execute(db);
      }
      let subjectId = await find(db, tenantId, identities);
      let created = false;
      let restricted = false;
      let cipher: FieldCipher | undefined;
      if (!subjectId) {
        subjectId = crypto.randomUUID();
        await db
          .insertInto('subjects')
          .values({ id: subjectId, tenant_id: tenantId, profile_name: null })
          .execute();
        cipher = await deps.keys.create(db, tenantId, subjectId);
        created = true;
      } else {
        cipher = await deps.keys.cipher(db, subjectId);
        if (!cipher) throw new Error('subject has no data key');
        const row = await db
          .updateTable('subjects')
          .set({ last_seen_at: new Date() })
          .where('id', '=', subjectId)
          .returning('restricted')
          .executeTakeFirst();
        restricted = row?.restricted ?? false;
      }
      const known = await db
        .selectFrom('identities')
        .select(['kind', 'blind_index'])
        .where('subject_id', '=', subjectId)
        .execute();
      for (const identity of identities) {
        const all = blindIndexes(deps.keyring, tenantId, identity);
        if (!known.some((k) => all.includes(k.blind_index)))
          await addIdentity(db, tenantId, subjectId, cipher, identity);
      }
      return { id: subjectId, created, cipher, restricted };
    },
  };
}

export type SubjectResolver = ReturnType<typeof createSubjectResolver>;
