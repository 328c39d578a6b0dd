import type { SystemSpec } from '../../../config/datamap.js';
import type { EraseOutcome } from '../port.js';
import { parseDone } from './protocol.js';
import { MAX_SKEW_SECONDS, signatureMatches } from './signature.js';

type HttpSpec = Extract<SystemSpec, { type: 'http' }>;

export type HttpConfirmation =
  | { ok: true; requestId: string; status: 'done'; outcomes: EraseOutcome[] }
  | { ok: true; requestId: string; status: 'failed'; reason: string }
  | { ok: false; reason: 'bad_signature' | 'stale' | 'malformed' | 'wrong_system' };

/**
 * Check a receiver's later confirmation of an erasure (the callback route calls this with the raw body):
 * the same HMAC-SHA256 scheme as our requests, compared in constant time, and a signed `timestamp` within
 * five minutes of now. A `done` confirmation carries the receiver's counts as erase outcomes; a `failed` one
 * a short reason code. Nothing here is logged; the caller records only the result.
 */
export function verifyHttpConfirmation(
  spec: Pick<HttpSpec, 'id' | 'secret'>,
  rawBody: string | Buffer,
  signatureHeader: string | undefined,
  now: number = Date.now(),
): HttpConfirmation {
  if (!signatureMatches(spec.secret, rawBody, signatureHeader)) return { ok: false, reason: 'bad_signature' };
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : rawBody) as Record<
      string,
      unknown
    >;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!body || typeof body !== 'object') return { ok: false, reason: 'malformed' };
  const ts = body.timestamp;
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { ok: false, reason: 'malformed' };
  if (Math.abs(now / 1000 - ts) > MAX_SKEW_SECONDS) return { ok: false, reason: 'stale' };
  if (body.system_id !== spec.id) return { ok: false, reason: 'wrong_system' };
  const requestId = body.request_id;
  if (typeof requestId !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(requestId))
    return { ok: false, reason: 'malformed' };
  if (body.status === 'failed') {
    const reason =
      typeof body.reason === 'string' && /^[a-z0-9_]{1,60}$/.test(body.reason) ? body.reason : 'failed';
    return { ok: true, requestId, status: 'failed', reason };
  }
  try {
    return { ok: true, requestId, status: 'done', outcomes: parseDone(body) };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
