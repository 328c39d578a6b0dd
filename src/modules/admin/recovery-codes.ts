import crypto from 'node:crypto';
import { hashToken } from '../../lib/crypto/index.js';

/**
 * Ten one-time recovery codes per admin, shown once at enrolment. Each is 80 random bits written as four groups
 * of four base32 characters (`k7q2-m9xa-...`). Random codes need no slow hash: only their SHA-256 is stored.
 */

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = crypto.randomBytes(16);
    const chars = Array.from(bytes, (b) => ALPHABET[b % 32]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/** Case, spaces and dashes do not matter when a code is typed back. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

export function hashRecoveryCode(code: string): string {
  return hashToken(normaliseRecoveryCode(code));
}
