import crypto from 'node:crypto';

/**
 * API key format: `fg_live_<prefix>_<secret>`, prefix = 8 hex characters (shown in listings so an operator can
 * tell keys apart), secret = 256 random bits in base64url. Only the SHA-256 of the whole key is stored: the key
 * is random, so a plain hash is enough (no salt, no slow hash) and lets authentication be one unique lookup.
 */

const KEY_PATTERN = /^fg_live_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;

export const API_KEY_ROLES = ['service', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export function isApiKeyRole(value: string): value is ApiKeyRole {
  return (API_KEY_ROLES as readonly string[]).includes(value);
}

export function newApiKey(): { key: string; prefix: string } {
  const prefix = crypto.randomBytes(4).toString('hex');
  return { key: `fg_live_${prefix}_${crypto.randomBytes(32).toString('base64url')}`, prefix };
}

/** The prefix of a well-formed key; undefined for anything else (never throws). */
export function apiKeyPrefix(candidate: string): string | undefined {
  return KEY_PATTERN.exec(candidate)?.[1];
}
