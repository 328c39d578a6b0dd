import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashToken } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';

/**
 * Ten one-time recovery codes per admin, shown once at enrolment (and when the admin regenerates them). Each is 80 random bits written as four groups
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

/**
 * Replace every recovery code of a user by `count` new ones (inside the caller's transaction): the old codes,
 * used or not, stop working. Returns the new codes (shown once) and how many were removed.
 */
export async function replaceRecoveryCodes(
  tx: Kysely<DB>,
  userId: string,
  count = RECOVERY_CODE_COUNT,
): Promise<{ codes: string[]; removed: number }> {
  const removed = await tx
    .deleteFrom('admin_recovery_codes')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const codes = count > 0 ? newRecoveryCodes(count) : [];
  if (codes.length > 0) {
    await tx
      .insertInto('admin_recovery_codes')
      .values(codes.map((c) => ({ user_id: userId, code_hash: hashRecoveryCode(c), used_at: null })))
      .execute();
  }
  return { codes, removed: Number(removed.numDeletedRows) };
}
