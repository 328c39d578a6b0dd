import crypto from 'node:crypto';

/**
 * AES-256-GCM with a versioned, self-describing envelope: `v1.` + base64url(iv[12] | ciphertext | tag[16]).
 * The AAD binds a ciphertext to its place (`table.column.rowId`), so a value copied to another row or column
 * fails to decrypt instead of silently moving data between people.
 */

const VERSION = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptError extends Error {
  constructor(reason: string) {
    super(`ciphertext cannot be decrypted: ${reason}`);
    this.name = 'DecryptError';
  }
}

export function seal(key: Buffer, plaintext: Buffer | string, aad: string): string {
  if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return VERSION + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

export function open(key: Buffer, envelope: string, aad: string): Buffer {
  if (!envelope.startsWith(VERSION)) throw new DecryptError('unknown envelope version');
  const raw = Buffer.from(envelope.slice(VERSION.length), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new DecryptError('envelope too short');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptError('authentication failed');
  }
}

export function openText(key: Buffer, envelope: string, aad: string): string {
  return open(key, envelope, aad).toString('utf8');
}
