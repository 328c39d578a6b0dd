import crypto from 'node:crypto';
import { open, seal } from './aead.js';

/**
 * The master key never leaves this module. Purpose keys are derived from it with HKDF-SHA256, one per
 * purpose and version, so a leaked blind-index key does not expose data keys and vice versa.
 */

export type KeyPurpose =
  'data-key-wrap' | 'tenant-secrets' | 'blind-index' | 'audit-subject' | 'event-id' | 'export-link';

export interface Keyring {
  /** Version label of the current master key (stored beside each wrapped key for rotation). */
  readonly masterVersion: string;
  /** Wrap a 32-byte data key for storage; the AAD binds it to its owner id. */
  wrapDataKey(dataKey: Buffer, ownerId: string): string;
  unwrapDataKey(wrapped: string, ownerId: string): Buffer;
  /** Encrypt and decrypt small tenant-level secrets (app secrets, access tokens, private keys). */
  sealSecret(plaintext: string, aad: string): string;
  openSecret(envelope: string, aad: string): string;
  /** Keyed HMAC-SHA256 (hex) under the derived key of one purpose. */
  hmac(purpose: 'blind-index' | 'audit-subject' | 'event-id' | 'export-link', message: string): string;
}

export function createKeyring(masterKey: Buffer, masterVersion = 'm1'): Keyring {
  if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
  const derived = new Map<KeyPurpose, Buffer>();
  const key = (purpose: KeyPurpose): Buffer => {
    let k = derived.get(purpose);
    if (!k) {
      k = Buffer.from(crypto.hkdfSync('sha256', masterKey, Buffer.alloc(0), `flowguard:${purpose}:v1`, 32));
      derived.set(purpose, k);
    }
    return k;
  };
  return {
    masterVersion,
    wrapDataKey: (dataKey, ownerId) => seal(key('data-key-wrap'), dataKey, `data-key:${ownerId}`),
    unwrapDataKey: (wrapped, ownerId) => open(key('data-key-wrap'), wrapped, `data-key:${ownerId}`),
    sealSecret: (plaintext, aad) => seal(key('tenant-secrets'), plaintext, aad),
    openSecret: (envelope, aad) => open(key('tenant-secrets'), envelope, aad).toString('utf8'),
    hmac: (purpose, message) =>
      crypto.createHmac('sha256', key(purpose)).update(message, 'utf8').digest('hex'),
  };
}

export function newDataKey(): Buffer {
  return crypto.randomBytes(32);
}

/** SHA-256 hex of a high-entropy secret (API keys, flow tokens). Fine for random tokens; never for phone numbers. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

export function timingSafeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}
