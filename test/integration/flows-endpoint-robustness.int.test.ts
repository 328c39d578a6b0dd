import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { callFlow, issueToken, publicKeyOf } from './flows-endpoint.client.js';

/** Meta's key recipe (`openssl genrsa -des3 2048`): PKCS#1 PEM encrypted with 3DES and a passphrase. */
const PASSPHRASE = 'flows-key-passphrase-1';
const { privateKey: PKCS1_ENCRYPTED, publicKey: PUBLIC_PEM } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem', cipher: 'des-ede3-cbc', passphrase: PASSPHRASE },
});

/** Random input on every endpoint, this one included (10,000 cases): fuzz.suite.ts. */
describe.each(storeKinds())('Flows endpoint with an encrypted PKCS#1 key on %s', (kind) => {
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
});
