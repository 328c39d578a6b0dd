import crypto, { type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { decryptFlowResponse, encryptFlowRequest } from '../../../src/lib/crypto/flow-crypto.js';
import { signMetaBody } from '../../../src/lib/crypto/meta-signature.js';
import { postCase, type FuzzCase } from './harness.js';
import {
  anyJson,
  anyString,
  anyValue,
  badSignatureHeader,
  contentType,
  oddBase64,
  oversizedBody,
  randomBytes,
  wellFormed,
} from './values.js';
import { deepJson, notJson } from './webhook-cases.js';

/**
 * Cases for the Flows data endpoint (PROTOCOL.md "Flows data endpoint"): a signature that does not match is
 * 432 before anything else; a signed body that cannot be decrypted (not the envelope, bad base64, a wrapped key
 * of the wrong size or for another key, an IV of the wrong size, a broken AES tag, plaintext that is not a JSON
 * object) is 421; a decrypted call is answered 200 (ping, error notification, unknown action: an encrypted
 * answer) or 427 when its flow token is not a live one. Bodies over 3 MB are 413.
 */

export interface FlowsFuzzSetup {
  /** The business's public key (flowguard holds the private half). */
  publicKey: KeyObject;
  /** A key flowguard does not hold. */
  foreignKey: KeyObject;
  appSecret: string;
  /** Live tokens of the default tenant; a deletion in a case may use one up (then it is 427). */
  tokens: readonly string[];
}

const URL = '/flows/endpoint';
const SCREEN_ACTIONS = ['INIT', 'BACK', 'data_exchange'];

const OAEP = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** AES-GCM with any key size Node supports (the endpoint only accepts 128-bit keys). */
function seal(key: Buffer, iv: Buffer, plaintext: Buffer): Buffer {
  const cipher = crypto.createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, iv);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function envelope(wrapped: Buffer, iv: Buffer, data: Buffer): string {
  return JSON.stringify({
    encrypted_flow_data: data.toString('base64'),
    encrypted_aes_key: wrapped.toString('base64'),
    initial_vector: iv.toString('base64'),
  });
}

/** What the documentation says a decrypted payload gets, judged on the JSON the server will parse. */
function documented(payload: unknown, tokens: readonly string[]): { label: string; expect: number[] } {
  const p = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
  const data = isRecord(p.data) ? p.data : {};
  if (p.action === 'ping') return { label: 'decrypted:ping', expect: [200] };
  if (data.error !== undefined && data.error !== null)
    return { label: 'decrypted:error-notice', expect: [200] };
  if (typeof p.action !== 'string' || !SCREEN_ACTIONS.includes(p.action))
    return { label: 'decrypted:unknown-action', expect: [200] };
  if (typeof p.flow_token === 'string' && tokens.includes(p.flow_token))
    return { label: 'decrypted:live-token', expect: [200, 427] };
  return { label: 'decrypted:bad-token', expect: [427] };
}

export function flowsCases(s: FlowsFuzzSetup): fc.Arbitrary<FuzzCase> {
  const signed = (
    label: string,
    body: string | Buffer,
    expect: number[],
    ct = 'application/json',
    check?: FuzzCase['check'],
  ) =>
    postCase(
      URL,
      label,
      body,
      { 'content-type': ct, 'x-hub-signature-256': signMetaBody(Buffer.from(body), s.appSecret) },
      expect,
      check,
    );

  const payload = fc.record(
    {
      version: fc.oneof({ arbitrary: fc.constantFrom('3.0', '4.0'), weight: 4 }, anyValue),
      action: fc.oneof(
        {
          arbitrary: fc.constantFrom('ping', 'INIT', 'BACK', 'data_exchange', 'navigate', 'complete'),
          weight: 6,
        },
        anyValue,
      ),
      screen: fc.oneof(
        {
          arbitrary: fc.constantFrom('PRIVACY_HOME', 'CONFIRM_DELETE', 'MY_DATA', 'DONE', 'SUCCESS'),
          weight: 4,
        },
        anyValue,
      ),
      data: fc.oneof(
        {
          arbitrary: fc.record(
            {
              choice: fc.oneof(fc.constantFrom('erasure', 'access', 'opt_out'), anyValue),
              request: fc.constantFrom('erasure', 'access'),
              scope: fc.oneof(
                fc.constantFrom('all', 'messages', 'media', 'flow_responses', 'nothing'),
                anyValue,
              ),
              confirmed: fc.oneof(fc.constant(true), anyValue),
            },
            { requiredKeys: [] },
          ),
          weight: 4,
        },
        fc.record({ error: anyValue, error_message: anyValue, error_key: anyValue }, { requiredKeys: [] }),
        anyJson,
        fc
          .integer({ min: 10, max: 2000 })
          .map((n) => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`) as unknown),
      ),
      flow_token: fc.oneof({ arbitrary: fc.constantFrom(...s.tokens), weight: 2 }, anyValue),
      flow_token_signature: anyValue,
    },
    { requiredKeys: [] },
  );

  const decrypted = fc.tuple(payload, contentType).map(([p, ct]) => {
    const enc = encryptFlowRequest(p, s.publicKey);
    const { label, expect } = documented(p, s.tokens);
    return signed(label, JSON.stringify(enc.body), expect, ct, (res) => {
      if (res.statusCode === 427) {
        if (typeof res.json<{ error_msg?: unknown }>().error_msg !== 'string')
          throw new Error('427 without error_msg');
        return;
      }
      if (!String(res.headers['content-type']).startsWith('text/plain'))
        throw new Error('200 not text/plain');
      const answer = decryptFlowResponse(res.body, enc.aesKey, enc.iv) as Record<string, unknown>;
      if (label === 'decrypted:ping' && JSON.stringify(answer) !== '{"data":{"status":"active"}}')
        throw new Error('ping answered otherwise');
      if (label === 'decrypted:error-notice' && JSON.stringify(answer) !== '{"data":{"acknowledged":true}}')
        throw new Error('error notification answered otherwise');
    });
  });

  const key16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));
  const iv16 = key16;
  const plaintext = fc.constant(Buffer.from('{"version":"3.0","action":"ping"}'));
  const undecryptable = fc.oneof(
    // A wrapped key that is not 16 bytes (the endpoint speaks AES-128 only).
    fc.tuple(fc.constantFrom(1, 8, 15, 17, 24, 32), iv16, plaintext).map(([n, iv, pt]) => {
      const key = crypto.randomBytes(n === 24 || n === 32 ? n : 16);
      const wrapped = crypto.publicEncrypt(
        { key: s.publicKey, ...OAEP },
        n === 24 || n === 32 ? key : crypto.randomBytes(n),
      );
      return signed('undecryptable:key-size', envelope(wrapped, iv, seal(key, iv, pt)), [421]);
    }),
    // An IV that is not 16 bytes.
    fc.tuple(key16, fc.constantFrom(0, 8, 12, 15, 17, 32), plaintext).map(([key, n, pt]) => {
      const iv = crypto.randomBytes(n);
      const data = n === 0 ? seal(key, crypto.randomBytes(12), pt) : seal(key, iv, pt);
      return signed(
        'undecryptable:iv-size',
        envelope(crypto.publicEncrypt({ key: s.publicKey, ...OAEP }, key), iv, data),
        [421],
      );
    }),
    // A flipped bit in the ciphertext or the tag, or a truncated tag.
    fc
      .tuple(key16, iv16, plaintext, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean())
      .map(([key, iv, pt, at, bit, cut]) => {
        const data = seal(key, iv, pt);
        const broken = cut ? data.subarray(0, Math.min(at % data.length, 15)) : Buffer.from(data);
        if (!cut) broken[at % broken.length]! ^= 1 << bit;
        return signed(
          'undecryptable:tag',
          envelope(crypto.publicEncrypt({ key: s.publicKey, ...OAEP }, key), iv, broken),
          [421],
        );
      }),
    // Wrapped for a key flowguard does not hold, or not wrapped at all.
    fc.tuple(key16, iv16, plaintext, fc.boolean()).map(([key, iv, pt, foreign]) => {
      const wrapped = foreign
        ? crypto.publicEncrypt({ key: s.foreignKey, ...OAEP }, key)
        : crypto.randomBytes(256);
      return signed('undecryptable:foreign-key', envelope(wrapped, iv, seal(key, iv, pt)), [421]);
    }),
    // Decrypts, but the plaintext is not a UTF-8 JSON object.
    fc
      .tuple(
        key16,
        iv16,
        fc.oneof(
          notJson,
          anyJson.filter((v) => !isRecord(v)).map((v) => JSON.stringify(v) ?? 'null'),
          randomBytes.map((b) =>
            Buffer.concat([Buffer.from('{"a":"'), b, Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
          ),
        ),
      )
      .map(([key, iv, pt]) =>
        signed(
          'undecryptable:plaintext',
          envelope(
            crypto.publicEncrypt({ key: s.publicKey, ...OAEP }, key),
            iv,
            seal(key, iv, Buffer.from(pt)),
          ),
          [421],
        ),
      ),
    // The envelope's fields missing, of the wrong type, or not base64 (cheap: weighted up).
    {
      arbitrary: fc
        .record(
          {
            encrypted_flow_data: fc.oneof(oddBase64(), anyValue),
            encrypted_aes_key: fc.oneof(
              oddBase64(fc.uint8Array({ minLength: 250, maxLength: 260 }).map(Buffer.from)),
              anyValue,
            ),
            initial_vector: fc.oneof(oddBase64(iv16), anyValue),
          },
          { requiredKeys: [] },
        )
        .map((e) => signed('undecryptable:envelope', JSON.stringify(e), [421])),
      weight: 3,
    },
    // Not an envelope at all.
    {
      arbitrary: fc
        .oneof(
          { arbitrary: anyJson.map((v) => JSON.stringify(v) ?? 'null'), weight: 3 },
          { arbitrary: notJson, weight: 3 },
          { arbitrary: randomBytes, weight: 3 },
          { arbitrary: deepJson, weight: 1 },
        )
        .map((b) => signed('undecryptable:body', b, [421])),
      weight: 3,
    },
  );

  const refused = fc.oneof(
    fc
      .tuple(
        fc.oneof(
          decrypted.map((c) => c.request.payload as string),
          anyString,
        ),
        badSignatureHeader,
        contentType,
      )
      .map(([b, sig, ct]) =>
        postCase(URL, 'bad-signature', b, { 'content-type': ct, 'x-hub-signature-256': sig }, [432]),
      ),
    fc.tuple(anyJson, fc.constantFrom('another-app-secret', `${s.appSecret} `)).map(([v, secret]) => {
      const b = JSON.stringify(v) ?? 'null';
      return postCase(
        URL,
        'other-secret',
        b,
        { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(Buffer.from(b), secret) },
        [432],
      );
    }),
  );

  const tenantRoute = fc
    .tuple(
      fc.oneof(
        fc.constantFrom('tenant-b', 'nobody', 'NOBODY', '..', '%2e%2e', 'a%2Fb', '-x'),
        anyString.map((x) => encodeURIComponent(wellFormed(x))),
      ),
      anyJson,
    )
    .map(([id, v]) => {
      const b = JSON.stringify(v) ?? 'null';
      const known = id === 'tenant-b';
      return postCase(
        `${URL}/${id}`,
        known ? 'tenant-route:other-secret' : 'tenant-route:unknown',
        b,
        {
          'content-type': 'application/json',
          'x-hub-signature-256': signMetaBody(Buffer.from(b), s.appSecret),
        },
        known ? [432] : [404],
      );
    });

  return fc.oneof(
    // An RSA decryption costs about a millisecond: a third of the cases; refusals cost nothing.
    { arbitrary: decrypted, weight: 3 },
    { arbitrary: undecryptable, weight: 5 },
    { arbitrary: refused, weight: 8 },
    { arbitrary: tenantRoute, weight: 1 },
    { arbitrary: fc.constant(null).map(() => signed('empty', '', [421])), weight: 1 },
    {
      arbitrary: oversizedBody.map((b) =>
        postCase(URL, 'oversized', b, { 'content-type': 'application/json' }, [413]),
      ),
      weight: 1,
    },
  );
}
