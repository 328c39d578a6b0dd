import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { SubjectKeys } from '../subjects/index.js';

/**
 * A pending delivery's body is encrypted and bound to its row: under the subject's data key when the event is
 * about a person (erasing them shreds their pending deliveries), else under the tenant-secrets key.
 */

const TABLE = 'forward_outbox';
const COLUMN = 'body';

function aad(rowId: string): string {
  return `${TABLE}.${COLUMN}.${rowId}`;
}

export interface BodyCryptoDeps {
  keyring: Keyring;
  subjectKeys: SubjectKeys;
}

export async function sealBody(
  deps: BodyCryptoDeps,
  db: Kysely<DB>,
  row: { id: string; subjectId: string | null },
  body: string,
): Promise<string> {
  if (!row.subjectId) return deps.keyring.sealSecret(body, aad(row.id));
  const cipher = await deps.subjectKeys.cipher(db, row.subjectId);
  if (!cipher) throw new Error('subject has no data key');
  return cipher.encrypt(body, TABLE, COLUMN, row.id);
}

/** The plaintext body, or undefined when the subject's key is gone (erased: nothing left to deliver). */
export async function openBody(
  deps: BodyCryptoDeps,
  db: Kysely<DB>,
  row: { id: string; subject_id: string | null; body: string },
): Promise<string | undefined> {
  if (!row.subject_id) return deps.keyring.openSecret(row.body, aad(row.id));
  const cipher = await deps.subjectKeys.cipher(db, row.subject_id);
  return cipher?.decrypt(row.body, TABLE, COLUMN, row.id);
}
