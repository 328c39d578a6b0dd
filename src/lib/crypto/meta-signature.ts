import crypto from 'node:crypto';

/**
 * Meta's `X-Hub-Signature-256` header: `sha256=<hex HMAC-SHA256(raw body bytes, app secret)>`. Used by the
 * webhook receiver and the Flows data endpoint. Verify over the exact bytes received: a re-serialised body will
 * not match.
 */

const PREFIX = 'sha256=';
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

/**
 * True only when the header carries a valid signature of `rawBody` under `appSecret`. Never throws: a missing,
 * repeated (array) or misshapen header, or an empty app secret, gives false. The comparison is constant-time.
 */
export function verifyMetaSignature(
  rawBody: Uint8Array,
  header: string | readonly string[] | undefined,
  appSecret: string,
): boolean {
  if (typeof header !== 'string' || appSecret === '' || !header.startsWith(PREFIX)) return false;
  const hex = header.slice(PREFIX.length);
  if (!HEX_DIGEST.test(hex)) return false;
  const expected = crypto.createHmac('sha256', appSecret).update(rawBody).digest();
  return crypto.timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** The header value Meta would send for `rawBody` (for tests and the simulator). */
export function signMetaBody(rawBody: Uint8Array, appSecret: string): string {
  if (appSecret === '') throw new Error('app secret is empty');
  return PREFIX + crypto.createHmac('sha256', appSecret).update(rawBody).digest('hex');
}
