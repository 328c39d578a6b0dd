import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFlowRequest } from '../../src/lib/crypto/flow-crypto.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { callFlow, issueToken, publicKeyOf, signed } from './flows-endpoint.client.js';

/** Meta's key recipe (`openssl genrsa -des3 2048`): PKCS#1 PEM encrypted with 3DES and a passphrase. */
const PASSPHRASE = 'flows-key-passphrase-1';
const { privateKey: PKCS1_ENCRYPTED, publicKey: PUBLIC_PEM } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem', cipher: 'des-ede3-cbc', passphrase: PASSPHRASE },
});

const DOCUMENTED = [200, 421, 427, 432];

describe.each(storeKinds())(
  'Flows endpoint with an encrypted PKCS#1 key, under random input, on %s',
  (kind) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(kind, {
        FLOWS_PRIVATE_KEY: PKCS1_ENCRYPTED,
        FLOWS_PRIVATE_KEY_PASSPHRASE: PASSPHRASE,
      });
    });
    afterAll(async () => t?.close());

    it('parses the encrypted PKCS#1 key once and serves a full round trip with it', async () => {
      expect(PKCS1_ENCRYPTED).toContain('Proc-Type: 4,ENCRYPTED');
      const tenant = await t.ctx.tenants.getDefault();
      expect(tenant.flowsPrivateKey?.asymmetricKeyType).toBe('rsa');
      const derived = (await publicKeyOf(t)).export({ type: 'spki', format: 'pem' }).toString();
      expect(derived).toBe(PUBLIC_PEM);
      // The parsed key object is reused, not re-parsed per request or on registry refresh.
      await t.ctx.tenants.reload();
      expect((await t.ctx.tenants.getDefault()).flowsPrivateKey).toBe(tenant.flowsPrivateKey);
      const { token } = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
      const res = await callFlow(
        t,
        { version: '3.0', action: 'INIT', flow_token: token },
        { publicKey: PUBLIC_PEM as never },
      );
      expect(res.status).toBe(200);
      expect(res.answer).toMatchObject({ screen: 'PRIVACY_HOME', data: { identities: 1 } });
    });

    it('answers 300 random bodies and headers with a documented code, never a 5xx', async () => {
      const { token } = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
      const publicKey = await publicKeyOf(t);
      const json = fc.jsonValue({ maxDepth: 3 });
      const payload = fc.record(
        {
          version: fc.oneof(fc.constant('3.0'), fc.string()),
          action: fc.oneof(
            { arbitrary: fc.constantFrom('ping', 'INIT', 'BACK', 'data_exchange', 'navigate'), weight: 4 },
            { arbitrary: fc.string(), weight: 1 },
            { arbitrary: json, weight: 1 },
          ),
          screen: fc.oneof(fc.constantFrom('PRIVACY_HOME', 'CONFIRM_DELETE'), fc.string(), json),
          data: fc.oneof(fc.dictionary(fc.string(), json), json, fc.record({ error: json })),
          flow_token: fc.oneof(fc.constant(token), fc.string(), json),
        },
        { requiredKeys: [] },
      );
      const body = fc.oneof(
        // A well-formed encrypted envelope around a random payload (exercises everything after decryption).
        { arbitrary: payload.map((p) => JSON.stringify(encryptFlowRequest(p, publicKey).body)), weight: 4 },
        // Random JSON, random envelopes, random bytes.
        json.map((v) => JSON.stringify(v)),
        fc
          .record(
            {
              encrypted_flow_data: fc.oneof(fc.base64String(), fc.string(), json),
              encrypted_aes_key: fc.oneof(fc.base64String(), fc.string(), json),
              initial_vector: fc.oneof(fc.base64String(), fc.string(), json),
            },
            { requiredKeys: [] },
          )
          .map((v) => JSON.stringify(v)),
        fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
        fc.string(),
      );
      const signature = fc.oneof(
        { arbitrary: fc.constant('valid'), weight: 3 },
        fc.constant(undefined),
        fc.string(),
        fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256=${h}`),
      );
      const contentType = fc.constantFrom(
        'application/json',
        'text/plain',
        'application/octet-stream',
        'application/json; charset=utf-8',
      );
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(body, signature, contentType, async (b, sig, type) => {
          const headers: Record<string, string> = { 'content-type': type };
          if (sig === 'valid') headers['x-hub-signature-256'] = signed(b);
          else if (sig !== undefined) headers['x-hub-signature-256'] = sig;
          const res = await t.app.inject({ method: 'POST', url: '/flows/endpoint', headers, payload: b });
          seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
          expect(DOCUMENTED).toContain(res.statusCode);
          if (res.statusCode === 200) expect(res.headers['content-type']).toMatch(/^text\/plain/);
        }),
        { numRuns: 300 },
      );
      // The generators reach every branch: accepted, undecryptable, refused token and refused signature.
      expect([...seen.keys()].sort()).toEqual([200, 421, 427, 432]);
      expect(t.logs.text()).not.toMatch(/unhandled error/);
    });

    it('measures encrypted data_exchange throughput through app.inject (reported, not asserted)', async () => {
      const { token } = await issueToken(t, { kind: 'phone', value: fakePerson().e164 });
      const publicKey = await publicKeyOf(t);
      const n = 500;
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        const res = await callFlow(
          t,
          { version: '3.0', action: 'data_exchange', screen: 'PRIVACY_HOME', data: { i }, flow_token: token },
          { publicKey },
        );
        expect(res.status).toBe(200);
      }
      const seconds = (performance.now() - started) / 1000;
      console.info(
        `[bench] ${kind}: ${n} encrypted data_exchange calls in ${seconds.toFixed(2)} s = ${(n / seconds).toFixed(0)} req/s (client encryption included)`,
      );
    });
  },
);
