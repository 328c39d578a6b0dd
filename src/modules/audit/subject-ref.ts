import type { Keyring } from '../../lib/crypto/index.js';

/**
 * The audit key version. Subject references are HMAC-SHA256 under the keyring's `audit-subject` key (derived
 * from the master key with the label `flowguard:audit-subject:v1`); rows carry this label so that, once keys
 * are versioned separately, destroying an old version makes the references written under it anonymous.
 */
export const AUDIT_KEY_VERSION = 'a1';

/** 64 lowercase hex characters: the shape of an HMAC-SHA256 reference. */
export const SUBJECT_REF_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The keyed reference that stands for a person in audit events (and request records): keyed on the subject id
 * for someone flowguard knows, on the blind index of the identity given for someone it does not. Never a
 * plain hash: every possible phone number has been hashed into public tables.
 */
export function auditSubjectRef(
  keyring: Pick<Keyring, 'hmac'>,
  subject: { subjectId: string } | { blindIndex: string },
): string {
  return 'subjectId' in subject
    ? keyring.hmac('audit-subject', subject.subjectId)
    : keyring.hmac('audit-subject', `identity:${subject.blindIndex}`);
}
