import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/modules/apikeys/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { flowTokenCases, requestCases, sessionCases, type ApiKeys } from '../helpers/fuzz/api-cases.js';
import { confirmationCases } from '../helpers/fuzz/confirmation-cases.js';
import { deletionCases } from '../helpers/fuzz/deletion-cases.js';
import { flowsCases } from '../helpers/fuzz/flows-cases.js';
import {
  errorLogLines,
  formatReport,
  fuzzEndpoint,
  FUZZ_RUNS,
  type FuzzCase,
  type FuzzReport,
} from '../helpers/fuzz/harness.js';
import { handshakeCases, postCases } from '../helpers/fuzz/webhook-cases.js';
import { verifiedRequest, writeConfig } from '../helpers/runner-fixtures.js';
import {
  createTestApp,
  fakePerson,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  TEST_VERIFY_TOKEN,
  type StoreKind,
  type TestApp,
} from '../helpers/test-app.js';
import { contact, delivery, postWebhook, textMessage } from '../helpers/webhook-payloads.js';
import { createAdmin, signIn, type TestAdmin } from './admin.fixtures.js';
import { callFlow, issueToken, publicKeyOf } from './flows-endpoint.client.js';
import { api, apiKey } from './requests.fixtures.js';

/**
 * Every public endpoint under 10,000 generated inputs each (malformed JSON, wrong types, huge fields, bad
 * base64, wrong key sizes, bad AES tags, bad or missing signatures, odd phone formats): each answer is the
 * status the documentation gives for that input, never a 5xx, and nothing is logged at error level. After
 * the storm the process still answers /healthz and valid requests still work.
 */

const B = { id: 'tenant-b', phoneNumberId: '100000000000002', appSecret: 'tenant-b-app-secret-987654' };
const B_VERIFY_TOKEN = 'tenant-b-verify-token';
const HOOK = { id: 'hook', secret: 'hook-confirmation-secret-0123456789' };
const now = () => Math.floor(Date.now() / 1000);

/** Meta's signed_request for an app-scoped id. */
function signedRequest(userId: string, secret = TEST_APP_SECRET): string {
  const payload = Buffer.from(
    JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: userId }),
  ).toString('base64url');
  return `${crypto.createHmac('sha256', secret).update(payload).digest('base64url')}.${payload}`;
}

function confirm(t: TestApp, requestId: string) {
  const body = JSON.stringify({
    request_id: requestId,
    system_id: HOOK.id,
    status: 'done',
    counts: { profiles: 1 },
    timestamp: now(),
  });
  const signature = `sha256=${crypto.createHmac('sha256', HOOK.secret).update(body).digest('hex')}`;
  return t.app.inject({
    method: 'POST',
    url: `/callbacks/systems/${HOOK.id}/${requestId}`,
    headers: { 'content-type': 'application/json', 'x-flowguard-signature-256': signature },
    payload: body,
  });
}

/** Per endpoint: 10,000 cases take 5-20 s (the report prints them); generous for a loaded machine. */
const FUZZ_TIMEOUT = 120_000;

/** The fuzz suite on one store kind (PGlite here; PostgreSQL in test/stress/fuzz-postgres.stress.test.ts). */
export function fuzzSuite(kind: StoreKind): void {
  let t: TestApp;
  let dir: string;
  let keys: ApiKeys;
  let fuzzedAdmin: TestAdmin;
  let admin: TestAdmin;
  const reports: FuzzReport[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-fuzz-'));
    // An http system that confirms erasures later, on the callback route.
    const config = writeConfig(
      dir,
      `systems:\n  - id: ${HOOK.id}\n    type: http\n    url: http://127.0.0.1:9/erase\n    secret: ${HOOK.secret}\n`,
    );
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: config });
    await addTenant({ db: t.ctx.database.db, keyring: t.ctx.keyring }, { ...B, verifyToken: B_VERIFY_TOKEN });
    await t.ctx.tenants.reload();
    const db = t.ctx.database.db;
    const revoked = await createApiKey(db, { tenantId: 'default', name: 'revoked', role: 'admin' });
    await revokeApiKey({ db, clock: t.ctx.clock }, revoked.id);
    keys = {
      valid: [await apiKey(t, 'service'), await apiKey(t, 'admin')],
      dead: [revoked.key, `fg_live_0badc0de_${crypto.randomBytes(32).toString('base64url')}`],
    };
    fuzzedAdmin = await createAdmin(t, 'owner');
    admin = await createAdmin(t, 'owner');
  });
  afterAll(async () => {
    for (const r of reports) console.info(formatReport(r));
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Fuzz one endpoint: every case ran, nothing was logged at error level, and every documented status was seen. */
  async function fuzz(endpoint: string, cases: fc.Arbitrary<FuzzCase>, documented: number[]) {
    const logFrom = t.logs.lines.length;
    const report = await fuzzEndpoint(t.app, endpoint, cases);
    reports.push(report);
    expect(report.runs).toBe(FUZZ_RUNS);
    expect(errorLogLines(t.logs, logFrom)).toEqual([]);
    expect(Object.keys(report.statuses).map(Number).sort()).toEqual([...documented].sort());
    return report;
  }

  it(
    'GET /webhooks/whatsapp: 200 echo, 403 refused, 400 bad challenge',
    async () => {
      await fuzz(
        'GET /webhooks/whatsapp',
        handshakeCases([TEST_VERIFY_TOKEN, B_VERIFY_TOKEN]),
        [200, 400, 403],
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /webhooks/whatsapp, signed and unsigned: 200, 400, 401, 413, 415',
    async () => {
      await fuzz(
        'POST /webhooks/whatsapp',
        postCases({
          // Two in three deliveries reach their tenant's store; the rest are refused event by event.
          routes: [
            { phoneNumberId: TEST_PHONE_NUMBER_ID, secret: TEST_APP_SECRET },
            { phoneNumberId: TEST_PHONE_NUMBER_ID, secret: TEST_APP_SECRET },
            { phoneNumberId: B.phoneNumberId, secret: B.appSecret },
            { phoneNumberId: B.phoneNumberId, secret: B.appSecret },
            { phoneNumberId: B.phoneNumberId, secret: TEST_APP_SECRET },
            { phoneNumberId: '100000000000777', secret: B.appSecret },
          ],
        }),
        [200, 400, 401, 413, 415],
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /flows/endpoint, encrypted envelopes and fuzzed payloads: 200, 421, 427, 432 (404, 413, 415)',
    async () => {
      const tokens = [];
      for (let i = 0; i < 12; i++)
        tokens.push((await issueToken(t, { kind: 'phone', value: fakePerson().e164 })).token);
      const { publicKey: foreignKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      await fuzz(
        'POST /flows/endpoint',
        flowsCases({ publicKey: await publicKeyOf(t), foreignKey, appSecret: TEST_APP_SECRET, tokens }),
        [200, 404, 413, 415, 421, 427, 432],
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /meta/data-deletion: 200, 400, 401, 409, 413, 415',
    async () => {
      const replayed = signedRequest('1000000000001');
      const first = await t.app.inject({
        method: 'POST',
        url: '/meta/data-deletion',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `signed_request=${replayed}`,
      });
      expect(first.statusCode).toBe(200);
      await fuzz(
        'POST /meta/data-deletion',
        deletionCases({ secrets: [TEST_APP_SECRET, B.appSecret], replayed }),
        [200, 400, 401, 409, 413, 415],
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /v1/requests with and without an API key: 200, 202, 400, 401, 413, 415',
    async () => {
      await fuzz('POST /v1/requests', requestCases(keys), [200, 202, 400, 401, 413, 415]);
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /v1/flow-tokens with and without an API key: 201, 400, 401, 413, 415',
    async () => {
      await fuzz('POST /v1/flow-tokens', flowTokenCases(keys), [201, 400, 401, 413, 415]);
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /admin/api/session: 400, 401, 413, 415, 429',
    async () => {
      await fuzz('POST /admin/api/session', sessionCases(fuzzedAdmin.email), [400, 401, 413, 415, 429]);
    },
    FUZZ_TIMEOUT,
  );

  it(
    'POST /callbacks/systems/:system/:request: 200, 400, 401, 404, 413',
    async () => {
      const requestIds = [];
      for (let i = 0; i < 4; i++) requestIds.push((await verifiedRequest(t, 'erasure', fakePerson())).id);
      await fuzz(
        'POST /callbacks/systems/:system/:request',
        confirmationCases({ systemId: HOOK.id, secret: HOOK.secret, requestIds }),
        [200, 400, 401, 404, 413],
      );
    },
    FUZZ_TIMEOUT,
  );

  it('still answers /healthz and serves a valid request on every endpoint afterwards', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const handshake = await t.app.inject({
      method: 'GET',
      url: `/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${TEST_VERIFY_TOKEN}&hub.challenge=4242`,
    });
    expect([handshake.statusCode, handshake.body]).toEqual([200, '4242']);
    const p = fakePerson();
    const ingested = await postWebhook(
      t,
      delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hi')] }),
    );
    expect(ingested.json()).toMatchObject({ status: 'ok', events: { ingested: 2, rejected: 0 } });
    const { token } = await issueToken(t, { kind: 'phone', value: p.e164 });
    const flow = await callFlow(t, { version: '3.0', action: 'INIT', flow_token: token });
    expect(flow.answer).toMatchObject({ screen: 'PRIVACY_HOME' });
    const deletion = await t.app.inject({
      method: 'POST',
      url: '/meta/data-deletion',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `signed_request=${signedRequest('1000000000002', B.appSecret)}`,
    });
    expect(deletion.statusCode).toBe(200);
    const key = keys.valid[0]!;
    expect(
      (await api(t, key).post('/v1/requests', { type: 'erasure', phone: fakePerson().e164 })).statusCode,
    ).toBe(202);
    expect((await api(t, key).post('/v1/flow-tokens', { phone: fakePerson().e164 })).statusCode).toBe(201);
    await signIn(t, admin, { ip: '198.51.100.7' });
    const { id } = await verifiedRequest(t, 'erasure', fakePerson());
    expect((await confirm(t, id)).json()).toEqual({ status: 'done', changed: true });
  });
}
