import { z } from 'zod';
import type { Keyring } from '../../lib/crypto/index.js';
import { AppError } from '../../lib/errors.js';

/**
 * A staff e-mail is personal data too: stored sealed (AAD `admin_users.email.<id>`) and looked up by a keyed
 * HMAC of its normalised form, so a database dump holds no address. Sign-in throttling is keyed the same way,
 * which also covers e-mails that belong to nobody.
 */

const emailSchema = z.email().max(254);

export function normaliseEmail(value: unknown): string {
  const parsed = emailSchema.safeParse(typeof value === 'string' ? value.trim().toLowerCase() : value);
  if (!parsed.success)
    throw new AppError('VALIDATION_FAILED', { field: 'email' }, 'a valid e-mail is required');
  return parsed.data;
}

export function emailIndex(keyring: Pick<Keyring, 'hmac'>, email: string): string {
  return keyring.hmac('blind-index', `admin-email:${email.trim().toLowerCase()}`);
}

/** The index under every held blind-index key version: lookups find admins not yet re-indexed. */
export function emailIndexes(keyring: Pick<Keyring, 'hmacAll'>, email: string): string[] {
  return keyring.hmacAll('blind-index', `admin-email:${email.trim().toLowerCase()}`);
}

export const emailAad = (userId: string) => `admin_users.email.${userId}`;
export const totpAad = (userId: string) => `admin_users.totp_secret.${userId}`;
