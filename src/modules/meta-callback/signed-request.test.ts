import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readDeletionPayload, SignedRequestError, signedBy, splitSignedRequest } from './signed-request.js';

const SECRET = 'unit-app-secret';
const NOW = new Date('2026-03-01T12:00:00Z');
const nowS = NOW.getTime() / 1000;

function sign(payload: unknown, secret = SECRET): string {
  const enc = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${crypto.createHmac('sha256', secret).update(enc).digest('base64url')}.${enc}`;
}

function fault(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SignedRequestError ? err.fault : `other: ${(err as Error).message}`;
  }
}

describe('signed_request', () => {
  it('verifies the HMAC of the encoded payload and reads the payload', () => {
    const split = splitSignedRequest(
      sign({ algorithm: 'HMAC-SHA256', issued_at: nowS, user_id: '1234567890' }),
    );
    expect(signedBy(split, SECRET)).toBe(true);
    expect(signedBy(split, 'other')).toBe(false);
    expect(signedBy(split, '')).toBe(false);
    expect(readDeletionPayload(split, NOW)).toEqual({ userId: '1234567890', issuedAt: NOW });
  });

  it('accepts padded base64url and a numeric user_id that is a safe integer', () => {
    const sr = sign({ algorithm: 'hmac-sha256', issued_at: nowS - 60, user_id: 42 });
    const [sig, payload] = sr.split('.') as [string, string];
    const split = splitSignedRequest(`${sig}=.${payload}`);
    expect(signedBy(split, SECRET)).toBe(true);
    expect(readDeletionPayload(split, NOW).userId).toBe('42');
  });

  it('names what is wrong', () => {
    const read = (p: unknown) => fault(() => readDeletionPayload(splitSignedRequest(sign(p)), NOW));
    const ok = { algorithm: 'HMAC-SHA256', issued_at: nowS, user_id: '1' };
    expect(fault(() => splitSignedRequest(undefined))).toBe('malformed');
    expect(fault(() => splitSignedRequest('nodot'))).toBe('malformed');
    expect(fault(() => splitSignedRequest('a.b.c'))).toBe('malformed');
    expect(fault(() => splitSignedRequest('a+b.c/d'))).toBe('malformed');
    expect(fault(() => splitSignedRequest(`${'a'.repeat(9000)}.b`))).toBe('malformed');
    expect(read({ ...ok, algorithm: 'HMAC-SHA1' })).toBe('wrong_algorithm');
    expect(read({ ...ok, algorithm: 7 })).toBe('wrong_algorithm');
    expect(read({ algorithm: 'HMAC-SHA256', issued_at: nowS })).toBe('missing_field');
    expect(read({ ...ok, issued_at: nowS - 86_401 })).toBe('stale');
    expect(read({ ...ok, issued_at: nowS + 301 })).toBe('issued_in_future');
    expect(read({ ...ok, issued_at: '1700000000' })).toBe('malformed');
    expect(read({ ...ok, user_id: 'a b' })).toBe('malformed');
    expect(read({ ...ok, user_id: 2 ** 60 })).toBe('malformed');
    expect(read([1, 2])).toBe('malformed');
    expect(read(null)).toBe('malformed');
  });
});
