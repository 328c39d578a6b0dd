import crypto from 'node:crypto';

/**
 * The http connector's signature scheme, both ways: `X-Flowguard-Signature-256: sha256=<hex>` is the
 * HMAC-SHA256 of the raw body under the system's shared secret (as GitHub and Meta sign webhooks). The body
 * carries a `timestamp` (Unix seconds), so the signature covers it and a replay outside the window fails;
 * `X-Flowguard-Timestamp` repeats it for receivers that check the window before parsing.
 */

export const SIGNATURE_HEADER = 'x-flowguard-signature-256';
export const TIMESTAMP_HEADER = 'x-flowguard-timestamp';
export const MAX_SKEW_SECONDS = 5 * 60;

export function signBody(secret: string, rawBody: string | Buffer): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** Constant-time comparison of a received header with the expected signature. */
export function signatureMatches(
  secret: string,
  rawBody: string | Buffer,
  header: string | undefined,
): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/i.test(header.trim())) return false;
  const expected = Buffer.from(signBody(secret, rawBody).slice(7), 'hex');
  const got = Buffer.from(header.trim().slice(7), 'hex');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}
