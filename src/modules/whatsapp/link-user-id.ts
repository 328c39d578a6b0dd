import type { Identity } from '../../lib/phone.js';
import { blindIndexes } from '../subjects/index.js';
import type { Executor, IngestDeps } from './ingest-deps.js';
import type { UserIdUpdateEvent } from './parse-webhook.js';

export type LinkResult = { subjectId: string | undefined; conflict: boolean };

/**
 * `user_id_update` (and the system message that carries one): the person's BSUID changed. The new BSUID (and
 * the phone, when the update names one) is linked to the subject of the previous BSUID, and the previous identity
 * row is marked superseded; it keeps resolving to the same subject. When neither id is known yet (the update
 * arrived before any message) one subject holding both is created, so later messages under either id meet.
 * An identity already held by another subject is left there (`conflict`): subjects are never merged silently.
 */
export async function linkUserId(
  deps: Pick<IngestDeps, 'subjects' | 'subjectKeys' | 'keyring' | 'clock'>,
  tx: Executor,
  tenantId: string,
  event: UserIdUpdateEvent,
): Promise<LinkResult> {
  const previous: Identity = { kind: 'bsuid', value: event.previousBsuid };
  const wanted: Identity[] = [previous, { kind: 'bsuid', value: event.currentBsuid }];
  if (event.phone) wanted.push({ kind: 'phone', value: event.phone });

  const owners: (string | undefined)[] = [];
  for (const identity of wanted) owners.push(await deps.subjects.find(tx, tenantId, [identity]));
  let subjectId = owners[0] ?? owners[1];
  let conflict = false;
  if (!subjectId) {
    subjectId = (await deps.subjects.findOrCreate(tx, tenantId, wanted)).id;
  } else {
    const cipher = await deps.subjectKeys.cipher(tx, subjectId);
    if (!cipher) return { subjectId: undefined, conflict: false };
    for (const [i, identity] of wanted.entries()) {
      const owner = owners[i];
      if (owner === undefined) await deps.subjects.addIdentity(tx, tenantId, subjectId, cipher, identity);
      else if (owner !== subjectId) conflict = true;
    }
  }
  await tx
    .updateTable('identities')
    .set({ superseded_at: deps.clock() })
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', 'bsuid')
    .where('blind_index', 'in', blindIndexes(deps.keyring, tenantId, previous))
    .where('subject_id', '=', subjectId)
    .where('superseded_at', 'is', null)
    .execute();
  return { subjectId, conflict };
}
