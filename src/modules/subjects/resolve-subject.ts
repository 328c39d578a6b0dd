import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { FieldCipher, Keyring } from '../../lib/crypto/index.js';
import { planEachCall } from '../../lib/db/prepared-statements.js';
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
  /**
   * The identity rows with these blind indexes (of identities of these kinds), oldest first: a query. Planned on
   * every call, and so is any statement it is nested in: a generic plan cached while identities was nearly
   * empty reads every identity of the tenant (see prepared-statements.ts).
   */
  function matching(db: Kysely<DB>, tenantId: string, kinds: string[], indexes: string[]) {
    return (
      db
        .selectFrom('identities')
        .where('tenant_id', '=', tenantId)
        // The kind makes the lookup an index scan on unique (tenant_id, kind, blind_index) rather than a scan of
        // every identity of the tenant. `= any(array)`: one statement text whatever the count.
        .where(sql<boolean>`kind = any(${[...new Set(kinds)]}::text[])`)
        .where(sql<boolean>`blind_index = any(${indexes}::text[])`)
        .orderBy('created_at')
        .modifyEnd(planEachCall)
    );
  }

  async function matchIndexes(db: Kysely<DB>, tenantId: string, kinds: string[], indexes: string[]) {
    if (indexes.length === 0) return [];
    return matching(db, tenantId, kinds, indexes).select(['subject_id', 'blind_index']).execute();
  }

  /**
   * The subject of the oldest identity row matching any of these identities (under any held key version): a
   * one-row query, to run (`find`) or to nest in another statement.
   */
  function owner(db: Kysely<DB>, tenantId: string, identities: Identity[]) {
    return matching(
      db,
      tenantId,
      identities.map((i) => i.kind),
      identities.flatMap((i) => blindIndexes(deps.keyring, tenantId, i)),
    )
      .select('subject_id')
      .limit(1);
  }

  async function find(db: Kysely<DB>, tenantId: string, identities: Identity[]): Promise<string | undefined> {
    return (await owner(db, tenantId, identities).executeTakeFirst())?.subject_id;
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

  /**
   * Lock every blind index of these identities (each held version) for the rest of the transaction, in one
   * statement and in sorted order (volatile target-list functions run after the ORDER BY): concurrent first
   * contacts of one person wait for each other, and overlapping lock sets never deadlock.
   */
  async function lockIndexes(db: Kysely<DB>, indexes: string[]): Promise<void> {
    if (indexes.length === 0) return;
    await sql`select pg_advisory_xact_lock(hashtextextended(k, 0))
      from unnest(${[...new Set(indexes)]}::text[]) as k order by k`.execute(db);
  }

  /**
   * findOrCreate for many people at once, in a fixed number of statements whatever their count: one lock, one
   * lookup, then for new people one key-store write and one insert of their subjects and identities, for known
   * ones one journal check, one `last_seen_at` update and one insert of identities not linked yet.
   * The identity sets must be pairwise disjoint (one person per entry): two entries sharing an identity would
   * each create a subject where one after the other would meet.
   * Must run inside the caller's transaction: concurrent first contacts of one person are serialised by a
   * transaction-scoped advisory lock per blind index (each held version), so one person never becomes two
   * subjects. A new subject gets its `profileName` (encrypted) and, when any of its identities is on the
   * suppression list (a STOP outlives an erasure), the marketing opt-out, in the insert itself.
   */
  async function resolveMany(
    db: Kysely<DB>,
    tenantId: string,
    people: readonly { identities: Identity[]; profileName?: string | undefined }[],
  ): Promise<ResolvedSubject[]> {
    const owner = new Map<string, number>();
    // Each identity's blind index under every held version, once.
    const indexed = people.map((p, n) =>
      p.identities.map((identity) => {
        const all = blindIndexes(deps.keyring, tenantId, identity);
        for (const bi of all) {
          if ((owner.get(bi) ?? n) !== n) throw new Error('resolveMany: two entries share an identity');
          owner.set(bi, n);
        }
        return { identity, all };
      }),
    );
    const indexesOf = indexed.map((ids) => ids.flatMap((i) => i.all));
    // Under every held version: instances switching to a new version lock the same keys as those not yet.
    await lockIndexes(db, indexesOf.flat());
    const found = await matchIndexes(
      db,
      tenantId,
      people.flatMap((p) => p.identities.map((i) => i.kind)),
      indexesOf.flat(),
    );
    const foundOf = people.map((_, n) => found.filter((f) => owner.get(f.blind_index) === n));

    const out: ResolvedSubject[] = new Array(people.length);
    const fresh = people.flatMap((_, n) =>
      foundOf[n]!.length === 0 ? [{ n, id: crypto.randomUUID() }] : [],
    );
    if (fresh.length > 0) {
      // The keys' write to the key store runs beside this transaction's insert; both end before the commit.
      const { ciphers, stored } = deps.keys.createMany(
        tenantId,
        fresh.map((f) => f.id),
      );
      const subjects = fresh.map(({ n, id }) => {
        const cipher = ciphers.get(id)!;
        const name = people[n]!.profileName;
        const profile = name ? cipher.encrypt(name, 'subjects', 'profile_name', id) : null;
        out[n] = { id, created: true, cipher, restricted: false, storedProfileName: profile };
        return {
          id,
          profile,
          indexes: indexesOf[n]!,
          kinds: [...new Set(people[n]!.identities.map((i) => i.kind))],
        };
      });
      // The subjects and their identities in one statement (the identities' foreign key is checked at its end).
      const rows = fresh.flatMap(({ n, id }) => [
        ...new Map(
          people[n]!.identities.map((i) => {
            const row = identityRow(tenantId, id, ciphers.get(id)!, i);
            return [`${row.kind}\u0000${row.blind_index}`, row] as const;
          }),
        ).values(),
      ]);
      // The suppression check names the kinds: a lookup on its primary key (tenant_id, kind, blind_index), not a
      // scan of every suppression of the tenant.
      const insertSubjects = sql`insert into subjects (id, tenant_id, profile_name, marketing_opt_out)
        values ${sql.join(
          subjects.map(
            (x) =>
              sql`(${x.id}::uuid, ${tenantId}, ${x.profile}, ${
                x.indexes.length > 0
                  ? sql`exists (select 1 from suppressions where tenant_id = ${tenantId}
                    and kind = any(${x.kinds}::text[]) and blind_index = any(${x.indexes}::text[]))`
                  : sql`false`
              })`,
          ),
        )}`;
      const insert =
        rows.length === 0
          ? insertSubjects
          : sql`with s as (${insertSubjects})
            insert into identities (id, tenant_id, subject_id, kind, blind_index, blind_index_version, value)
            values ${sql.join(
              rows.map(
                (r) =>
                  sql`(${r.id}, ${r.tenant_id}, ${r.subject_id}, ${r.kind}, ${r.blind_index}, ${r.blind_index_version}, ${r.value})`,
              ),
            )}
            on conflict (tenant_id, kind, blind_index) do nothing`;
      await Promise.all([stored, insert.execute(db)]);
    }

    const known = [...new Set(foundOf.flatMap((f) => (f.length > 0 ? [f[0]!.subject_id] : [])))];
    if (known.length > 0) {
      const ciphers = await deps.keys.ciphers(db, known);
      const missing = known.find((id) => !ciphers.has(id));
      if (missing) throw new Error('subject has no data key');
      const { rows: seen } = await sql<{ id: string; restricted: boolean; profile_name: string | null }>`
        update subjects set last_seen_at = now() where id = any(${known}::uuid[])
        returning id, restricted, profile_name`.execute(db);
      const state = new Map(seen.map((r) => [r.id, r]));
      // An identity matched already (to this subject, or to another one: left as it is) is not added again.
      const unlinked = people.flatMap((_, n) => {
        const hits = foundOf[n]!;
        if (hits.length === 0) return [];
        const id = hits[0]!.subject_id;
        const row = state.get(id);
        out[n] = {
          id,
          created: false,
          cipher: ciphers.get(id)!,
          restricted: row?.restricted ?? false,
          storedProfileName: row?.profile_name ?? null,
        };
        const linked = new Set(hits.map((f) => f.blind_index));
        return indexed[n]!.filter(({ all }) => !all.some((bi) => linked.has(bi))).map(({ identity }) =>
          identityRow(tenantId, id, ciphers.get(id)!, identity),
        );
      });
      if (unlinked.length > 0) {
        await db
          .insertInto('identities')
          .values(unlinked)
          .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'blind_index']).doNothing())
          .execute();
      }
    }
    return out;
  }

  return {
    find,
    owner,
    addIdentity,
    /**
     * Find the subject any of these identities belongs to, or create one; identities not yet linked are added.
     * Must run inside the caller's transaction (see resolveMany).
     */
    async findOrCreate(
      db: Kysely<DB>,
      tenantId: string,
      identities: Identity[],
      opts: { profileName?: string | undefined } = {},
    ): Promise<ResolvedSubject> {
      return (await resolveMany(db, tenantId, [{ identities, profileName: opts.profileName }]))[0]!;
    },
    resolveMany,
  };
}

export type SubjectResolver = ReturnType<typeof createSubjectResolver>;
