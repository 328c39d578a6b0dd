import { hash, verify, type Options } from '@node-rs/argon2';
import { AppError } from '../../lib/errors.js';

/**
 * Admin passwords: argon2id with OWASP's recommended minimum (2023 Password Storage Cheat Sheet): 19 MiB of
 * memory, 2 iterations, 1 lane; 16-byte random salt, 32-byte tag, stored as the PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so the parameters travel with each hash and can be raised
 * later without breaking old ones. About 20-70 ms per hash on the project machine.
 */
export const ARGON2_PARAMS: Options = {
  /** Algorithm.Argon2id (a const enum, which isolated modules cannot read). */
  algorithm: 2 as NonNullable<Options['algorithm']>,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
};

export const PASSWORD_MIN_LENGTH = 12;
/** Long enough for any passphrase; short enough that hashing one is not a denial of service. */
export const PASSWORD_MAX_LENGTH = 512;

/** Length in characters (code points), so a passphrase in any script counts as written. */
export function checkPasswordPolicy(password: unknown): string {
  if (typeof password !== 'string') {
    throw new AppError('VALIDATION_FAILED', { field: 'password' }, 'a password is required');
  }
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'password' },
      `the password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
    );
  }
  return password;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_PARAMS);
}

/**
 * A valid hash of a random password nobody knows: checked when the e-mail is unknown, so a sign-in with an
 * unknown e-mail costs the same time as one with a wrong password.
 */
let decoy: Promise<string> | undefined;
function decoyHash(): Promise<string> {
  decoy ??= hashPassword(`decoy-${Math.random()}-${Date.now()}`);
  return decoy;
}

/** True when `password` matches `stored`; with no stored hash, checks the decoy and returns false. */
export async function verifyPassword(stored: string | undefined, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX_LENGTH * 4) return false;
  try {
    if (stored === undefined) {
      await verify(await decoyHash(), password);
      return false;
    }
    return await verify(stored, password);
  } catch {
    return false;
  }
}
