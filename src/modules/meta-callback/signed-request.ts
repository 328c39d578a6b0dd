import crypto from 'node:crypto';

/**
 * Meta's `signed_request` (PROTOCOL.md "Meta data deletion callback"): `base64url(sig).base64url(payload)`, where
 * sig is the raw HMAC-SHA256 of the encoded payload string (as received) under the app secret, and the payload is
 * `{algorithm: "HMAC-SHA256", issued_at, user_id}`. Pure functions: no I/O, no logging; reasons are fixed codes.
 */

/** Far longer than anything Meta sends; longer values are refused before any work. */
export const MAX_SIGNED_REQUEST_LENGTH = 8192;
/** How far ahead of our clock `issued_at` may be (clock skew). */
export const MAX_FUTURE_SKEW_SECONDS = 300;
/** How old a signed request may be; older ones are refused as stale (replays inside the window are remembered). */
export const MAX_AGE_SECONDS = 24 * 60 * 60;

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;
/** An app-scoped id is opaque (digits today). It is never read as a phone number. */
const APP_SCOPED_ID = /^[A-Za-z0-9_-]{1,128}$/;

export type SignedRequestFault =
  'malformed' | 'bad_signature' | 'wrong_algorithm' | 'missing_field' | 'stale' | 'issued_in_future';

export class SignedRequestError extends Error {
  constructor(readonly fault: SignedRequestFault) {
    super(`signed_request refused: ${fault.replace(/_/g, ' ')}`);
    this.name = 'SignedRequestError';
  }
}

export interface SplitSignedRequest {
  signature: Buffer;
  /** The payload exactly as encoded in the request: the signed bytes. */
  encodedPayload: string;
}

/** Split and decode the envelope; throws `malformed` for anything that is not two base64url parts. */
export function splitSignedRequest(value: unknown): SplitSignedRequest {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_SIGNED_REQUEST_LENGTH) {
    throw new SignedRequestError('malformed');
  }
  const parts = value.split('.');
  if (parts.length !== 2) throw new SignedRequestError('malformed');
  const [sig, payload] = parts as [string, string];
  if (!B64URL.test(sig) || !B64URL.test(payload)) throw new SignedRequestError('malformed');
  return { signature: Buffer.from(sig, 'base64url'), encodedPayload: payload };
}

/** True when `secret` signed the payload; constant-time, never throws, an empty secret never verifies. */
export function signedBy(req: SplitSignedRequest, secret: string): boolean {
  if (secret === '') return false;
  const expected = crypto.createHmac('sha256', secret).update(req.encodedPayload, 'utf8').digest();
  return req.signature.length === expected.length && crypto.timingSafeEqual(expected, req.signature);
}

export interface DeletionPayload {
  /** The app-scoped user id, as a string. Personal data: never log it. */
  userId: string;
  issuedAt: Date;
}

/**
 * Read a payload whose signature has been verified: the algorithm (case-insensitive), `issued_at` within
 * [now - MAX_AGE, now + skew] and a `user_id`. Throws a SignedRequestError naming what is wrong.
 */
export function readDeletionPayload(req: SplitSignedRequest, now: Date): DeletionPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(req.encodedPayload, 'base64url').toString('utf8'));
  } catch {
    throw new SignedRequestError('malformed');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new SignedRequestError('malformed');
  }
  const p = payload as Record<string, unknown>;
  if (p.algorithm === undefined || p.issued_at === undefined || p.user_id === undefined) {
    throw new SignedRequestError('missing_field');
  }
  if (typeof p.algorithm !== 'string' || p.algorithm.toUpperCase() !== 'HMAC-SHA256') {
    throw new SignedRequestError('wrong_algorithm');
  }
  if (typeof p.issued_at !== 'number' || !Number.isSafeInteger(p.issued_at) || p.issued_at < 0) {
    throw new SignedRequestError('malformed');
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (p.issued_at > nowSeconds + MAX_FUTURE_SKEW_SECONDS) throw new SignedRequestError('issued_in_future');
  if (p.issued_at < nowSeconds - MAX_AGE_SECONDS) throw new SignedRequestError('stale');
  const userId =
    typeof p.user_id === 'string'
      ? p.user_id
      : typeof p.user_id === 'number' && Number.isSafeInteger(p.user_id) && p.user_id >= 0
        ? String(p.user_id)
        : undefined;
  if (userId === undefined || !APP_SCOPED_ID.test(userId)) throw new SignedRequestError('malformed');
  return { userId, issuedAt: new Date(p.issued_at * 1000) };
}
