import type { Kysely, OperandValueExpression } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import type { SubjectKeys, SubjectResolver } from '../subjects/index.js';

type Keys = Pick<SubjectKeys, 'cipherForRowsRead'>;

/**
 * The identity rows of the subject `subjectId` names (an id, or a one-row query nested in the statement), as
 * loadSubjectIdentities reads them.
 */
function identityRows(db: Kysely<DB>, subjectId: OperandValueExpression<DB, 'identities', 'subject_id'>) {
  return db
    .selectFrom('identities')
    .select(['subject_id', 'id', 'kind', 'value', 'superseded_at'])
    .where('subject_id', '=', subjectId)
    .orderBy('kind', 'desc')
    .orderBy('created_at')
    .execute();
}

/**
 * Decrypt a subject's identity rows, read in one statement (their presence proves the subject was not erased in
 * that statement's snapshot, so no journal lookup): phone first, current ones before superseded BSUIDs.
 */
async function decryptIdentities(
  keys: Keys,
  subjectId: string,
  rows: Awaited<ReturnType<typeof identityRows>>,
): Promise<Identity[]> {
  if (rows.length === 0) return [];
  const cipher = await keys.cipherForRowsRead(subjectId);
  if (!cipher) return [];
  return rows
    .sort((a, b) => Number(a.superseded_at !== null) - Number(b.superseded_at !== null))
    .map((r) => ({ kind: r.kind, value: cipher.decrypt(r.value, 'identities', 'value', r.id) }) as Identity);
}

/** The person's identities, decrypted (phone first), current ones before superseded BSUIDs. */
export async function loadSubjectIdentities(
  db: Kysely<DB>,
  keys: Keys,
  subjectId: string,
): Promise<Identity[]> {
  return decryptIdentities(keys, subjectId, await identityRows(db, subjectId));
}

/**
 * The subject an identity belongs to (as `subjects.find` matches it) and all of its identities, decrypted as
 * loadSubjectIdentities does: one statement. Undefined when nobody holds the identity.
 */
export async function findSubjectWithIdentities(
  db: Kysely<DB>,
  deps: { subjects: Pick<SubjectResolver, 'owner'>; subjectKeys: Keys },
  tenantId: string,
  identity: Identity,
): Promise<{ subjectId: string; identities: Identity[] } | undefined> {
  const rows = await identityRows(db, deps.subjects.owner(db, tenantId, [identity]));
  const subjectId = rows[0]?.subject_id;
  if (!subjectId) return undefined;
  return { subjectId, identities: await decryptIdentities(deps.subjectKeys, subjectId, rows) };
}

/** Who to send a WhatsApp message to: the phone if known, else the current BSUID. */
export function messagingRecipient(identities: Identity[]): Identity | undefined {
  return identities.find((i) => i.kind === 'phone') ?? identities.find((i) => i.kind === 'bsuid');
}
