import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import type { SubjectKeys } from '../subjects/index.js';

/** The person's identities, decrypted (phone first), current ones before superseded BSUIDs. */
export async function loadSubjectIdentities(
  db: Kysely<DB>,
  keys: Pick<SubjectKeys, 'cipher'>,
  subjectId: string,
): Promise<Identity[]> {
  const cipher = await keys.cipher(db, subjectId);
  if (!cipher) return [];
  const rows = await db
    .selectFrom('identities')
    .select(['id', 'kind', 'value', 'superseded_at'])
    .where('subject_id', '=', subjectId)
    .orderBy('kind', 'desc')
    .orderBy('created_at')
    .execute();
  return rows
    .sort((a, b) => Number(a.superseded_at !== null) - Number(b.superseded_at !== null))
    .map((r) => ({ kind: r.kind, value: cipher.decrypt(r.value, 'identities', 'value', r.id) }) as Identity);
}

/** Who to send a WhatsApp message to: the phone if known, else the current BSUID. */
export function messagingRecipient(identities: Identity[]): Identity | undefined {
  return identities.find((i) => i.kind === 'phone') ?? identities.find((i) => i.kind === 'bsuid');
}
