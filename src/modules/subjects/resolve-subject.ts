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
  /** The stored (encrypted) profile name of a subject that existed; null when none is stored. */
  storedProfileName: string | null;
}

export function createSubjectResolver(deps: { keyring: Keyring; keys: SubjectKeys }) {
  /** The identity rows matching any of these identities (under any held key version), oldest first. */
  async function matches(db: Kysely<DB>, tenantId: string, identities: Identity[]) {
    if (identities.length === 0) return [];
    return (
      db
        .selectFrom('identities')
        .select(['subject_id', 'blind_index'])
        .where('tenant_id', '=', tenantId)
        // The kind makes the lookup an index scan on unique (tenant_id, kind, blind_index) rather than a scan of
        // every identity of the tenant.
        .where('kind', 'in', [...new Set(identities.map((i) => i.kind))])
        .where(
          'blind_index',
          'in',
          identities.flatMap((i) => blindIndexes(deps.keyring, tenantId, i)),
        )
        .orderBy('created_at')
        .execute()
    );
  }

  async function find(db: Kysely<DB>, tenantId: string, identities: Identity[]): Promise<string | undefined> {
    return (await matches(db, tenantId, identities))[0]?.subject_id;
  }

  /** One identity row of a subject: a blind index to find it by, the value encrypted with the subject's key. */
  function identityRow(tenantId: string, subjectId: string, cipher: FieldCipher, identity: Identity) {
    const id = crypto.randomUUID();
    return {
      id,
      tenant_id: tenantId,
      subject_id: subjectId,
      kind: identity.kind,
      blind_index: blindIndex(deps.keyring, tenantId, identity),
      blind_index_version: deps.keyring.hmacVersion('blind-index'),
      value: cipher.encrypt(identity.value, 'identities', 'value', id),
    };
  }

  async function addIdentity(
    db: Kysely<DB>,
    tenantId: string,
    subjectId: string,
    cipher: FieldCipher,
    identity: Identity,
  ) {
    await db
      .insertInto('identities')
      .values(identityRow(tenantId, subjectId, cipher, identity))
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'blind_index']).doNothing())
      .execute();
  }

  return {
    find,
    addIdentity,
    /**
     * Find the subject any of these identities belongs to, or create one; identities not yet linked are added.
     * Must run inside the caller's transaction: concurrent first contacts of one person are serialised by a
     * transaction-scoped advisory lock per blind index (each held version), so one person never becomes two
     * subjects. A new subject gets `profileName` (encrypted) and, when any of its identities is on the
     * suppression list (a STOP outlives an erasure), the marketing opt-out, in the insert itself.
     */
    async findOrCreate(
      db: Kysely<DB>,
      tenantId: string,
      identities: Identity[],
      opts: { profileName?: string | undefined } = {},
    ): Promise<ResolvedSubject> {
      // Under every held version: instances switching to a new version lock the same keys as those not yet.
      // One statement, in sorted order (volatile target-list functions run after the ORDER BY).
      const indexes = identities.flatMap((i) => blindIndexes(deps.keyring, tenantId, i));
      if (indexes.length > 0) {
        await sql`select pg_advisory_xact_lock(hashtextextended(k, 0))
          from unnest(${indexes}::text[]) as k order by k`.execute(db);
      }
      const found = await matches(db, tenantId, identities);
      let subjectId = found[0]?.subject_id;
      let created = false;
      let restricted = false;
      let storedProfileName: string | null;
      let cipher: FieldCipher | undefined;
      if (!subjectId) {
        const newId = crypto.randomUUID();
        const newCipher = await deps.keys.create(db, tenantId, newId);
        [subjectId, cipher] = [newId, newCipher];
        const profile = opts.profileName
          ? newCipher.encrypt(opts.profileName, 'subjects', 'profile_name', newId)
          : null;
        const optOut =
          indexes.length > 0
            ? sql`exists (select 1 from suppressions where tenant_id = ${tenantId}
                and blind_index = any(${indexes}::text[]))`
            : sql`false`;
        // The subject and its identities in one statement (the identities' foreign key is checked at its end).
        const rows = [
          ...new Map(
            identities.map((i) => {
              const row = identityRow(tenantId, newId, newCipher, i);
              return [`${row.kind}\u0000${row.blind_index}`, row] as const;
            }),
          ).values(),
        ];
        const insertSubject = sql`insert into subjects (id, tenant_id, profile_name, marketing_opt_out)
          values (${newId}, ${tenantId}, ${profile}, ${optOut})`;
        await (
          rows.length === 0
            ? insertSubject
            : sql`with s as (${insertSubject})
              insert into identities (id, tenant_id, subject_id, kind, blind_index, blind_index_version, value)
              values ${sql.join(
                rows.map(
                  (r) =>
                    sql`(${r.id}, ${r.tenant_id}, ${r.subject_id}, ${r.kind}, ${r.blind_index}, ${r.blind_index_version}, ${r.value})`,
                ),
              )}
              on conflict (tenant_id, kind, blind_index) do nothing`
        ).execute(db);
        created = true;
        storedProfileName = profile;
      } else {
        cipher = await deps.keys.cipher(db, subjectId);
        if (!cipher) throw new Error('subject has no data key');
        const row = await db
          .updateTable('subjects')
          .set({ last_seen_at: new Date() })
          .where('id', '=', subjectId)
          .returning(['restricted', 'profile_name'])
          .executeTakeFirst();
        restricted = row?.restricted ?? false;
        storedProfileName = row?.profile_name ?? null;
      }
      // An identity matched already (to this subject, or to another one: left as it is) is not added again.
      const linked = new Set(found.map((f) => f.blind_index));
      for (const identity of created ? [] : identities) {
        const all = blindIndexes(deps.keyring, tenantId, identity);
        if (!all.some((bi) => linked.has(bi))) await addIdentity(db, tenantId, subjectId, cipher, identity);
      }
      return { id: subjectId, created, cipher, restricted, storedProfileName };
    },
  };
}

export type SubjectResolver = ReturnType<typeof createSubjectResolver>;
