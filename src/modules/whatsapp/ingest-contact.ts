import type { Identity } from '../../lib/phone.js';
import type { ResolvedSubject } from '../subjects/index.js';
import type { IngestBatch } from './ingest-batch.js';
import type { Executor, IngestDeps } from './ingest-deps.js';

type Deps = Pick<IngestDeps, 'subjects' | 'subjectKeys' | 'keyring'>;

/**
 * The sender of a new event: find or create the subject (which also refreshes last_seen_at and links any new
 * identity), store the profile name encrypted when it is new or changed, and carry an earlier STOP over to a
 * subject created again after erasure (suppressions outlive the subject). In a batch, a sender resolved up front
 * is taken from it.
 */
export async function resolveSender(
  deps: Deps,
  tx: Executor,
  tenantId: string,
  identities: Identity[],
  profileName: string | undefined,
  batch?: IngestBatch,
): Promise<ResolvedSubject> {
  const subject =
    batch?.take(tenantId, identities) ??
    (await deps.subjects.findOrCreate(tx, tenantId, identities, { profileName }));
  if (profileName && !subject.created) {
    const stored = await setProfileName(tx, subject, profileName, { stored: subject.storedProfileName });
    batch?.storedProfileName(tenantId, identities, stored);
  }
  return subject;
}

/**
 * A contact that came without any keyed event (nothing to de-duplicate by): it refreshes a person flowguard
 * knows, without touching rows that are already right, so a repeated delivery changes nothing. It never creates
 * anyone: a contact card alone is not something the person sent, and as it carries no event id, a copy Meta
 * delivers again after the person's erasure would otherwise bring them back. Returns the subject it applied to.
 */
export async function applyStandaloneContact(
  deps: Deps,
  tx: Executor,
  tenantId: string,
  identities: Identity[],
  profileName: string | undefined,
): Promise<string | undefined> {
  const existing = await deps.subjects.find(tx, tenantId, identities);
  if (!existing) return undefined;
  const cipher = await deps.subjectKeys.cipher(tx, existing);
  if (!cipher) return undefined; // being erased: add nothing to it
  for (const identity of identities) {
    if (!(await deps.subjects.find(tx, tenantId, [identity]))) {
      await deps.subjects.addIdentity(tx, tenantId, existing, cipher, identity);
    }
  }
  if (profileName) await setProfileName(tx, { id: existing, cipher }, profileName);
  return existing;
}

/** Store the profile name (encrypted) unless it is the one stored; returns the value stored afterwards. */
async function setProfileName(
  tx: Executor,
  subject: Pick<ResolvedSubject, 'id' | 'cipher'>,
  name: string,
  /** The stored value when the caller has just read it. */
  known?: { stored: string | null },
): Promise<string | null> {
  const row = known
    ? { profile_name: known.stored }
    : await tx.selectFrom('subjects').select('profile_name').where('id', '=', subject.id).executeTakeFirst();
  if (row?.profile_name) {
    let current: string | undefined;
    try {
      current = subject.cipher.decrypt(row.profile_name, 'subjects', 'profile_name', subject.id);
    } catch {
      current = undefined; // unreadable: overwrite with the fresh value
    }
    if (current === name) return row.profile_name;
  }
  const stored = subject.cipher.encrypt(name, 'subjects', 'profile_name', subject.id);
  await tx.updateTable('subjects').set({ profile_name: stored }).where('id', '=', subject.id).execute();
  return stored;
}
