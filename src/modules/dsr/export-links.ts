import { timingSafeEqualHex, type Keyring } from '../../lib/crypto/index.js';
import { AppError } from '../../lib/errors.js';

/**
 * Expiring download links for a person's access bundle: `<public url>/exports/<token>`, where the token is
 * base64url of `version (1 byte) | request id (16) | expiry, unix s (4, big-endian) | MAC (16)`, the MAC being
 * HMAC-SHA256 under the keyring's `export-link` key, truncated to 128 bits. 50 characters, nothing stored: the
 * link proves itself and stops working at its expiry. It is a bearer credential, so it is never logged and
 * never written to the store (notifications compose it when they are sent).
 */

export const EXPORT_LINK_TTL_SECONDS = 24 * 3600;
/** Bounds for a caller-chosen lifetime: five minutes to seven days. */
export const EXPORT_LINK_TTL_MIN = 300;
export const EXPORT_LINK_TTL_MAX = 7 * 24 * 3600;

const VERSION = 1;
const TOKEN_BYTES = 1 + 16 + 4 + 16;

export interface ExportLinkClaims {
  requestId: string;
  expiresAt: Date;
}

function mac(keyring: Pick<Keyring, 'hmac'>, requestId: string, expires: number): string {
  return keyring.hmac('export-link', `v${VERSION}:${requestId}:${expires}`).slice(0, 32);
}

export function signExportToken(keyring: Pick<Keyring, 'hmac'>, claims: ExportLinkClaims): string {
  const expires = Math.floor(claims.expiresAt.getTime() / 1000);
  const requestId = claims.requestId.toLowerCase();
  const buf = Buffer.alloc(TOKEN_BYTES);
  buf.writeUInt8(VERSION, 0);
  Buffer.from(requestId.replace(/-/g, ''), 'hex').copy(buf, 1);
  buf.writeUInt32BE(expires, 17);
  Buffer.from(mac(keyring, requestId, expires), 'hex').copy(buf, 21);
  return buf.toString('base64url');
}

/**
 * The claims of a genuine token. A malformed or forged token is NOT_FOUND (a guesser learns nothing); a genuine
 * one past its expiry is GONE.
 */
export function verifyExportToken(
  keyring: Pick<Keyring, 'hmac'>,
  token: string,
  now: Date,
): ExportLinkClaims {
  const notFound = () => new AppError('NOT_FOUND', { resource: 'export' }, 'no such export link');
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{50}$/.test(token)) throw notFound();
  const buf = Buffer.from(token, 'base64url');
  if (buf.length !== TOKEN_BYTES || buf.readUInt8(0) !== VERSION) throw notFound();
  const hex = buf.subarray(1, 17).toString('hex');
  const requestId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const expires = buf.readUInt32BE(17);
  if (!timingSafeEqualHex(buf.subarray(21).toString('hex'), mac(keyring, requestId, expires)))
    throw notFound();
  const expiresAt = new Date(expires * 1000);
  if (expiresAt.getTime() <= now.getTime()) {
    throw new AppError('GONE', { resource: 'export' }, 'this export link has expired');
  }
  return { requestId, expiresAt };
}

export function exportLinkUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/exports/${token}`;
}

/** What an `access_ready` notification is queued with when the service has a public URL: where and until when. */
export function accessReadyParams(publicUrl: string, now: Date): { link_base: string; link_expires: number } {
  return {
    link_base: publicUrl.replace(/\/+$/, ''),
    link_expires: Math.floor(now.getTime() / 1000) + EXPORT_LINK_TTL_SECONDS,
  };
}

/**
 * The `access_ready` notification's parameters at send time: when the request was queued with a link base and
 * expiry, the link is signed now, so the queued row never holds a working credential.
 */
export function withExportLink(
  keyring: Pick<Keyring, 'hmac'>,
  row: { tenant_id: string; request_id: string | null; kind: string; params: Record<string, unknown> },
): Record<string, unknown> {
  const { link_base: base, link_expires: expires, ...rest } = row.params;
  if (
    row.kind !== 'access_ready' ||
    !row.request_id ||
    typeof base !== 'string' ||
    typeof expires !== 'number'
  )
    return rest;
  const token = signExportToken(keyring, {
    requestId: row.request_id,
    expiresAt: new Date(expires * 1000),
  });
  return { ...rest, url: exportLinkUrl(base, token) };
}
