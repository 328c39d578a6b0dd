import crypto from 'node:crypto';
import fc from 'fast-check';
import { postCase, type FuzzCase } from './harness.js';
import { anyJson, anyString, anyValue, contentType, OVERSIZED, wellFormed } from './values.js';
import { notJson } from './webhook-cases.js';

/**
 * Cases for Meta's data deletion callback (PROTOCOL.md "Meta data deletion callback"): 415 unless a form, 400
 * when malformed (or a wrong algorithm, stale, a missing field), 401 bad signature, 409 replay, 200 recorded.
 */

const DELETION_URL = '/meta/data-deletion';
const now = () => Math.floor(Date.now() / 1000);

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const hmac = (secret: string, data: string) => crypto.createHmac('sha256', secret).update(data).digest();

/** `base64url(sig).base64url(payload)` with the signature of `signedPayload` (default: the payload itself). */
function signedRequest(payload: string, secret: string, signedPayload = payload): string {
  return `${b64url(hmac(secret, b64url(signedPayload)))}.${b64url(payload)}`;
}

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight });
const form = (value: string) => `signed_request=${encodeURIComponent(wellFormed(value))}`;

export function deletionCases(opts: {
  secrets: readonly string[];
  replayed: string;
}): fc.Arbitrary<FuzzCase> {
  const secret = fc.constantFrom(...opts.secrets);
  const formType = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
  );
  const post = (
    label: string,
    body: string | Buffer,
    expect: number[],
    type = 'application/x-www-form-urlencoded',
  ) => postCase(DELETION_URL, label, body, { 'content-type': type }, expect);

  const userId = fc.oneof(
    fc.stringMatching(/^[0-9]{5,20}$/),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  );
  const validPayload = fc.record({
    algorithm: fc.constantFrom('HMAC-SHA256', 'hmac-sha256', 'Hmac-Sha256'),
    issued_at: fc.integer({ min: -86_000, max: 200 }).map((d) => now() + d),
    user_id: userId,
  });
  // Signed correctly, each with exactly one thing wrong inside.
  const wrongInside = fc.oneof(
    validPayload.chain((p) =>
      fc.constantFrom('HMAC-SHA1', '', 'none', 'HMAC-SHA256 ').map((algorithm) => ({ ...p, algorithm })),
    ),
    validPayload.chain((p) =>
      fc
        .oneof(anyValue, fc.integer())
        .filter((a) => typeof a !== 'string')
        .map((algorithm) => ({ ...p, algorithm })),
    ),
    validPayload.chain((p) =>
      fc.integer({ min: 87_000, max: 10_000_000 }).map((d) => ({ ...p, issued_at: now() - d })),
    ),
    validPayload.chain((p) =>
      fc.integer({ min: 400, max: 10_000_000 }).map((d) => ({ ...p, issued_at: now() + d })),
    ),
    validPayload.chain((p) =>
      fc.constantFrom(-1, 1.5, '1700000000', null, 1e300).map((issued_at) => ({ ...p, issued_at })),
    ),
    validPayload.chain((p) =>
      fc
        .oneof(
          fc.constantFrom(
            '',
            -1,
            1.5,
            null,
            {},
            [],
            true,
            'a'.repeat(129),
            "1'; drop table subjects;--",
            '10 20',
            'üser',
          ),
          anyValue,
        )
        .filter(
          (u) =>
            !(typeof u === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(u)) &&
            !(typeof u === 'number' && Number.isSafeInteger(u) && u >= 0),
        )
        .map((user_id) => ({ ...p, user_id })),
    ),
    validPayload.chain((p) =>
      fc.constantFrom('algorithm', 'issued_at', 'user_id').map((k) => ({ ...p, [k]: undefined })),
    ),
  );

  return fc.oneof(
    {
      arbitrary: fc.tuple(validPayload, secret, formType).map(([p, s, ct]) =>
        postCase(
          DELETION_URL,
          'recorded',
          form(signedRequest(JSON.stringify(p), s)),
          { 'content-type': ct },
          [200, 409],
          (res) => {
            if (res.statusCode !== 200) return;
            const body = res.json<{ url?: unknown; confirmation_code?: unknown }>();
            if (typeof body.url !== 'string' || !/^FG-/.test(String(body.confirmation_code)))
              throw new Error('no url/code');
          },
        ),
      ),
      weight: 1,
    },
    { arbitrary: fc.constant(null).map(() => post('replayed', form(opts.replayed), [409])), weight: 4 },
    {
      arbitrary: fc
        .tuple(wrongInside, secret)
        .map(([p, s]) => post('signed:refused-payload', form(signedRequest(JSON.stringify(p), s)), [400])),
      weight: 96,
    },
    w(
      24,
      fc
        .tuple(
          fc.oneof(
            anyJson.map((v) => JSON.stringify(v) ?? 'null').filter((j) => !j.startsWith('{')),
            notJson,
          ),
          secret,
        )
        .map(([j, s]) => post('signed:not-an-object', form(signedRequest(j, s)), [400])),
    ),
    {
      arbitrary: fc.tuple(validPayload, secret, fc.nat({ max: 3 })).map(([p, s, how]) => {
        const payload = JSON.stringify(p);
        const value = [
          signedRequest(payload, 'not-a-tenant-app-secret'),
          signedRequest(payload, s, JSON.stringify({ ...p, user_id: '1' })),
          `${b64url(crypto.randomBytes(32))}.${b64url(payload)}`,
          `${b64url(hmac(s, b64url(payload)).subarray(0, 31))}.${b64url(payload)}`,
        ][how]!;
        return post('bad-signature', form(value), [401]);
      }),
      weight: 72,
    },
    w(
      36,
      fc
        .oneof(
          fc.constantFrom(
            '',
            '.',
            'a.b.c',
            'abc',
            '.abc',
            'abc.',
            '+/=.abc',
            'ab=c.def',
            'a b.c',
            '\u0000.a',
          ),
          fc
            .tuple(anyString, anyString)
            .map(([a, b]) => wellFormed(`${a}.${b}`))
            .filter((v) => !/^[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}$/.test(v)),
          fc.constant(`${'a'.repeat(8190)}.bb`),
        )
        .map((v) => post('malformed', v === '' ? 'signed_request=' : form(v), [400])),
    ),
    w(
      24,
      fc
        .oneof(
          fc.constantFrom('', 'user_id=1', 'signed_request', '&&&', '%', 'signed_request=%zz'),
          fc
            .tuple(validPayload, secret)
            .map(
              ([p, s]) =>
                `${form(signedRequest(JSON.stringify(p), s))}&${form(signedRequest(JSON.stringify(p), s))}`,
            ),
        )
        .map((b) => post('form', b, [400])),
    ),
    w(
      24,
      fc
        .tuple(
          fc.oneof(
            anyString,
            fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
          ),
          fc.boolean(),
        )
        .map(([s, encode]) => post('random-form', encode ? form(s) : s, [400, 401])),
    ),
    w(
      16,
      fc
        .tuple(
          validPayload,
          secret,
          contentType.filter((ct) => !ct.startsWith('application/x-www-form')),
        )
        .map(([p, s, ct]) =>
          postCase(
            DELETION_URL,
            'not-a-form',
            form(signedRequest(JSON.stringify(p), s)),
            { 'content-type': ct },
            [415],
          ),
        ),
    ),
    w(
      12,
      fc.constant(null).map(() => post('oversized', OVERSIZED, [413])),
    ),
  );
}
