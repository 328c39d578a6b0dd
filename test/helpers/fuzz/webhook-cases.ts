import fc from 'fast-check';
import { signMetaBody } from '../../../src/lib/crypto/meta-signature.js';
import { postCase, type FuzzCase, type FuzzHeaders } from './harness.js';
import {
  anyJson,
  anyString,
  badSignatureHeader,
  contentType,
  longString,
  oversizedBody,
  randomBytes,
} from './values.js';
import { envelopeBody } from './webhook-envelope.js';

/**
 * Cases for the Cloud API webhook (PROTOCOL.md "Webhooks"): GET handshake (200 echo, 403, 400) and POST, where
 * a missing or wrong signature is 401, an empty body 400, a body over 3 MB 413, a signed body that is not JSON
 * 400, and any signed JSON 200 (an envelope's bad events are counted as rejected, never retried by Meta).
 */

const WEBHOOK = '/webhooks/whatsapp';
const PRINTABLE = /^[\x21-\x7e]{1,256}$/;

/** Percent-encode every byte of the UTF-8 form (lone surrogates become U+FFFD, as on the wire). */
function encodeQueryValue(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

function query(params: Record<string, string | readonly string[] | undefined>): string {
  return Object.entries(params)
    .flatMap(([k, v]) =>
      v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => `${k}=${encodeQueryValue(x)}`),
    )
    .join('&');
}

export function handshakeCases(verifyTokens: readonly string[]): fc.Arbitrary<FuzzCase> {
  const mode = fc.oneof(
    { arbitrary: fc.constant('subscribe'), weight: 4 },
    fc.constantFrom('Subscribe', 'subscribe ', 'unsubscribe'),
    anyString,
    fc.constant(undefined),
    fc.constant(['subscribe', 'subscribe']),
  );
  const token = fc.oneof(
    { arbitrary: fc.constantFrom(...verifyTokens), weight: 4 },
    fc.constantFrom(...verifyTokens).map((t) => `${t} `),
    anyString,
    fc.constant(undefined),
    fc.constantFrom(...verifyTokens).map((t) => [t, t]),
  );
  const challenge = fc.oneof(
    { arbitrary: fc.stringMatching(/^\d{1,12}$/), weight: 3 },
    fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
    fc.stringMatching(/^[\x21-\x7e]{257,300}$/),
    anyString,
    fc.constant(undefined),
    fc.constant(['1', '2']),
  );
  const structured = fc.record({ mode, token, challenge }).map(({ mode, token, challenge }): FuzzCase => {
    const allowed = mode === 'subscribe' && typeof token === 'string' && verifyTokens.includes(token);
    const echo = allowed && typeof challenge === 'string' && PRINTABLE.test(challenge);
    return {
      label: allowed ? (echo ? 'handshake:echo' : 'handshake:bad-challenge') : 'handshake:refused',
      request: {
        method: 'GET',
        url: `${WEBHOOK}?${query({ 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': challenge })}`,
      },
      expect: [echo ? 200 : allowed ? 400 : 403],
      check: (res) => {
        if (res.statusCode === 200 && res.body !== challenge) throw new Error('echoed something else');
      },
    };
  });
  // Raw, unencoded query strings: malformed percent escapes, odd separators, repeated keys.
  const raw = fc
    .tuple(
      fc.constantFrom(...verifyTokens),
      fc.string({ unit: fc.constantFrom('%', '&', '=', ';', '+', 'a', '1', '.', '[', ']'), maxLength: 12 }),
    )
    .map(([tok, junk]): FuzzCase => ({
      label: 'handshake:raw-query',
      request: {
        method: 'GET',
        url: `${WEBHOOK}?hub.mode=subscribe&hub.verify_token=${tok}&hub.challenge=${junk}`,
      },
      expect: [200, 400, 403],
      check: (res) => {
        if (res.statusCode === 200 && !PRINTABLE.test(res.body))
          throw new Error('echoed a non-printable challenge');
      },
    }));
  return fc.oneof({ arbitrary: structured, weight: 9 }, { arbitrary: raw, weight: 1 });
}

// ---------- POST bodies ----------
/** Valid JSON nested up to 5,000 levels deep, alone or where an envelope's entries go. */
export const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 20_000 }), fc.boolean(), fc.boolean())
  .map(([depth, arr, wrapped]) => {
    const deep = arr
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return wrapped ? `{"object":"whatsapp_business_account","entry":[${deep}]}` : deep;
  });

/** Text that is certainly not JSON. */
export const notJson: fc.Arbitrary<string> = fc
  .oneof(
    anyJson.map((v) => `${JSON.stringify(v) ?? 'null'},`),
    anyJson.map((v) => (JSON.stringify(v) ?? 'null').slice(0, -1) + '\u0000'),
    fc.constantFrom('{', '{"object":', "{'a':1}", 'NaN', 'undefined', '[1,]', '{"a":1}}', '\u0000'),
    fc.string({ minLength: 1, maxLength: 30 }).map((s) => `{${s}`),
  )
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  });

/** A tenant's number and the app secret a delivery for it is signed with (another tenant's: refused events). */
export interface Route {
  phoneNumberId: string;
  secret: string;
}

/**
 * `routes`: where signed deliveries go; list a route several times to make it likelier. Deliveries routed to
 * their tenant reach the store (the costly, interesting path); the others are refused event by event.
 */
export function postCases(opts: { routes: readonly Route[] }): fc.Arbitrary<FuzzCase> {
  const secret = fc.constantFrom(...new Set(opts.routes.map((r) => r.secret)));
  const route = fc.constantFrom(...opts.routes);
  const envelope = route.chain((r) =>
    envelopeBody(fc.constant(r.phoneNumberId)).map((body) => ({ body, secret: r.secret })),
  );
  const post = (
    label: string,
    body: string | Buffer,
    headers: FuzzHeaders,
    expect: number[],
    check?: FuzzCase['check'],
  ) => postCase(WEBHOOK, label, body, headers, expect, check);
  const anyBody = fc.oneof(
    envelope.map((e) => e.body),
    anyJson.map((v) => JSON.stringify(v) ?? 'null'),
    notJson,
    randomBytes,
  );
  const sign = (body: string | Buffer, s: string, upper: boolean) => {
    const sig = signMetaBody(Buffer.from(body), s);
    return upper ? `sha256=${sig.slice(7).toUpperCase()}` : sig;
  };
  const ok = (res: { json: () => unknown }) => {
    const body = res.json() as { status?: string; events?: Record<string, number> };
    if (body.status === 'ignored') return;
    const counts = Object.values(body.events ?? { x: -1 });
    if (body.status !== 'ok' || !counts.every((n) => Number.isInteger(n) && n >= 0))
      throw new Error('not an ingest report');
  };
  const signedJson = (b: string | Buffer, s: string) => ({
    'content-type': 'application/json',
    'x-hub-signature-256': sign(b, s, false),
  });
  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight });
  // Weights: a delivery routed to a tenant is a store transaction, a huge, deep or oversized body costs
  // milliseconds to build and read; the bulk are the cheap refusals and the parser's rejections.
  return fc.oneof(
    // Signed by a tenant, so the parser and the ingest run on the fuzzed bytes.
    w(
      2,
      fc
        .tuple(envelope, contentType, fc.boolean())
        .map(([{ body: b, secret: s }, ct, up]) =>
          post(
            'signed:envelope',
            b,
            { 'content-type': ct, 'x-hub-signature-256': sign(b, s, up) },
            [200],
            ok,
          ),
        ),
    ),
    w(
      3,
      fc.tuple(anyJson, secret).map(([v, s]) => {
        const b = JSON.stringify(v) ?? 'null';
        return post('signed:other-json', b, signedJson(b, s), [200], (res) => {
          if ((res.json() as { status: string }).status !== 'ignored') throw new Error('not ignored');
        });
      }),
    ),
    w(
      3,
      fc
        .tuple(notJson, secret, contentType)
        .map(([b, s, ct]) =>
          post('signed:not-json', b, { 'content-type': ct, 'x-hub-signature-256': sign(b, s, false) }, [400]),
        ),
    ),
    w(
      1,
      fc.tuple(deepJson, secret).map(([b, s]) => post('signed:deep-json', b, signedJson(b, s), [200], ok)),
    ),
    w(
      3,
      fc
        .tuple(randomBytes, secret)
        .map(([b, s]) => post('signed:bytes', b, signedJson(b, s), b.length === 0 ? [400] : [200, 400])),
    ),
    w(
      1,
      fc.tuple(longString, secret).map(([text, s]) => {
        const b = JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [{ id: text, changes: [{ field: text, value: text }] }],
        });
        return post('signed:huge-fields', b, signedJson(b, s), [200], ok);
      }),
    ),
    // Unsigned or badly signed: refused before the body is read.
    w(
      12,
      fc
        .tuple(anyBody, badSignatureHeader, contentType)
        .map(([b, sig, ct]) =>
          post('unsigned:bad-signature', b, { 'content-type': ct, 'x-hub-signature-256': sig }, [
            b.length === 0 ? 400 : 401,
          ]),
        ),
    ),
    w(
      3,
      fc.tuple(anyBody, anyBody, secret).map(([b, other, s]) => {
        const same = Buffer.from(b).equals(Buffer.from(other));
        const expect = b.length === 0 ? [400] : same ? [200, 400] : [401];
        return post(same ? 'signed:envelope-copy' : 'unsigned:other-body', b, signedJson(other, s), expect);
      }),
    ),
    w(
      3,
      anyBody.map((b) =>
        post('unsigned:wrong-secret', b, signedJson(b, 'not-any-tenant-app-secret'), [
          b.length === 0 ? 400 : 401,
        ]),
      ),
    ),
    w(
      2,
      fc
        .constantFrom('', 'application/json')
        .map((ct) => post('empty', '', { 'content-type': ct || undefined }, [400])),
    ),
    w(
      1,
      fc
        .tuple(oversizedBody, badSignatureHeader)
        .map(([b, sig]) =>
          post('oversized', b, { 'content-type': 'application/json', 'x-hub-signature-256': sig }, [413]),
        ),
    ),
  );
}
