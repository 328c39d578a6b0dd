import { hmacVersionOf, type Keyring } from '../../lib/crypto/index.js';

/**
 * The audit key's first version. Subject references are HMAC-SHA256 under the keyring's `audit-subject` key;
 * each audit row records the version its reference was made under (`key_version`), so that destroying an old
 * version (`keys retire-hmac-version`) makes the references written under it anonymous. References under a
 * later version carry their label (`a2.<hex>`); first-version references are bare hex.
 */
export const AUDIT_KEY_VERSION = 'a1';

/** An HMAC-SHA256 reference: 64 lowercase hex characters, after a version label from the second version on. */
export const SUBJECT_REF_PATTERN = /^(?:[a-z][0-9]+\.)?[0-9a-f]{64}$/;

/** The audit key version a reference was made under. */
export function auditKeyVersionOf(subjectRef: string): string {
  return hmacVersionOf('audit-subject', subjectRef);
}

type SubjectKey = { subjectId: string } | { blindIndex: string };
const message = (subject: SubjectKey) =>
  'subjectId' in subject ? subject.subjectId : `identity:${subject.blindIndex}`;

/**
 * The keyed reference that stands for a person in audit events (and request records): keyed on the subject id
 * for someone flowguard knows, on the blind index of the identity given for someone it does not. Never a
 * plain hash: every possible phone number has been hashed into public tables.
 */
export function auditSubjectRef(keyring: Pick<Keyring, 'hmac'>, subject: SubjectKey): string {
  return keyring.hmac('audit-subject', message(subject));
}

/**
 * Every reference the person may have been recorded under while older key versions are held (for each blind
 * index given, under each audit key version): what comparisons with stored references must accept.
 */
export function auditSubjectRefs(
  keyring: Pick<Keyring, 'hmacAll'>,
  subject: { subjectId: string } | { blindIndexes: string[] },
): string[] {
  if ('subjectId' in subject) return keyring.hmacAll('audit-subject', message(subject));
  return subject.blindIndexes.flatMap((blindIndex) =>
    keyring.hmacAll('audit-subject', message({ blindIndex })),
  );
}
