import type { Identity } from '../../lib/phone.js';
import { blindIndex, type ResolvedSubject } from '../subjects/index.js';
import type { Executor, IngestDeps } from './ingest-deps.js';

type Deps = Pick<IngestDeps, 'subjects' | 'subjectKeys' | 'keyring'>;

/**
 * The sender of a new event: find or create the subject (which also refreshes last_seen_at and links any new
 * identity), store the profile name encrypted when it is new or changed, and carry an earlier STOP over to a
 * subject created again after erasure (suppressions outlive the subject).
 */
export async function resolveSender(
  deps: Deps,
  tx: Executor,
  tenantId: string,
  identities: Identity[],
  profileName: string | undefined,
): Promise<ResolvedSubject> {
  const subject = await deps.subjects.findOrCreate(tx, tenantId, identities);
  if (profileName) await setProfileName(tx, subject, profileName, subject.created);
  if (subject.created) await honourSuppression(deps, tx, tenantId, subject.id, identities);
  return subject;
}

/**
 * A contact that came without any keyed event (nothing to de-duplicate by): apply it without touching rows that
 * are already right, so a repeated delivery changes nothing.
 */
export async function applyStandaloneContact(
  deps: Deps,
  tx: Executor,
  tenantId: string,
  identities: Identity[],
  profileName: string | undefined,
): Promise<string | undefined> {
  const existing = await deps.subjects.find(tx, tenantId, identities);
  if (!existing) return (await resolveSender(deps, tx, tenantId, identities, profileName)).id;
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

async function setProfileName(
  tx: Executor,
  subject: Pick<ResolvedSubject, 'id' | 'cipher'>,
  name: string,
  isNew = false,
): Promise<void> {
  const row = isNew
    ? undefined
    : await tx.selectFrom('subjects').select('profile_name').where('id', '=', subject.id).executeTakeFirst();
  if (row?.profile_name) {
    let current: string | undefined;
    try {
      current = subject.cipher.decrypt(row.profile_name, 'subjects', 'profile_name', subject.id);
    } catch {
      current = undefined; // unreadable: overwrite with the fresh value
    }
    if (current === name) return;
  }
  await tx
    .updateTable('subjects')
    .set({ profile_name: subject.cipher.encrypt(name, 'subjects', 'profile_name', subject.id) })
    .where('id', '=', subject.id)
    .execute();
}

async function honourSuppression(
  deps: Pick<Deps, 'keyring'>,
  tx: Executor,
  tenantId: string,
  subjectId: string,
  identities: Identity[],
): Promise<void> {
  if (identities.length === 0) return;
  const suppressed = await tx
    .selectFrom('suppressions')
    .select('blind_index')
    .where('tenant_id', '=', tenantId)
    .where(
      'blind_index',
      'in',
      identities.map((i) => blindIndex(deps.keyring, tenantId, i)),
    )
    .executeTakeFirst();
  if (suppressed) {
    await tx.updateTable('subjects').set({ marketing_opt_out: true }).where('id', '=', subjectId).execute();
  }
}
