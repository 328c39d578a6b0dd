import crypto from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { dumpStore } from '../helpers/store-dump.js';
import {
  createTestApp,
  fakePerson,
  storeKinds,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  type TestApp,
} from '../helpers/test-app.js';
import {
  contact,
  delivery,
  flowReplyMessage,
  phoneOf,
  postWebhook,
  textMessage,
  type Person,
} from '../helpers/webhook-payloads.js';
import { callFlow, issueToken } from './flows-endpoint.client.js';
import { api, apiKey } from './requests.fixtures.js';

/**
 * Attacks on the public surface, none of which may succeed; the store and logs keep nobody's number or name.
 * Covered elsewhere and not repeated here:
 * - forged Meta deletion callbacks (bad signature, another tenant's secret owns its own request) and their
 *   replay (409): meta-callback.int.test.ts;
 * - a Flow token replayed (427, and once under concurrency): privacy-center.int.test.ts; another tenant's
 *   token (427): flows-endpoint.int.test.ts; a webhook completion delivered twice (one request) and a payload
 *   `user_id` naming someone else (refused and audited): dsr-webhook.int.test.ts; a confirmation button tapped
 *   by someone else: verification.int.test.ts;
 * - a webhook signed by one tenant addressed to another's number: webhooks.int.test.ts (here: a deletion);
 * - an API key reading or acting on another tenant's requests (404): requests-api.int.test.ts; an admin or
 *   admin key of one tenant reading another (404/403): admin-scoping.int.test.ts;
 * - admin routes without a session, with a password-only sign-in, without or with another session's CSRF
 *   token, and step-up: admin-sessions.int.test.ts;
 * - injection-shaped identifiers against the SQL connectors (bound parameters): connector-postgres and
 *   connector-mysql tests; data-map names: security-datamap.int.test.ts;
 * - every endpoint under 10,000 random inputs: fuzz.int.test.ts.
 */

const B = { id: 'tenant-b', phoneNumberId: '100000000000002', appSecret: 'tenant-b-app-secret-987654' };
const INJECTION = "'); drop table subjects;--";

/** The seed's payload: a Flow without an endpoint completes with this response_json. */
const deletionPayload = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ action: 'data_deletion_request', scope: 'all', ...fields });

describe.each(storeKinds())('security on %s', (kind) => {
  let t: TestApp;
  /** Every fake person of this file: the last test searches the logs and a dump for them. */
  const people: Person[] = [];
  const person = (): Person => {
    const p = fakePerson();
    people.push(p);
    return p;
  };

  beforeAll(async () => {
    t = await createTestApp(kind);
    await addTenant({ db: t.ctx.database.db, keyring: t.ctx.keyring }, B);
    await t.ctx.tenants.reload();
  });
  afterAll(async () => t?.close());

  const db = () => t.ctx.database.db;
  const subjectOf = (p: Person, tenantId = 'default') => t.ctx.subjects.find(db(), tenantId, [phoneOf(p)]);
  const rowCount = async (table: 'privacy_requests' | 'subjects') =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const requestCount = () => rowCount('privacy_requests');
  async function known(p: Person, phoneNumberId = TEST_PHONE_NUMBER_ID, secret = TEST_APP_SECRET) {
    const res = await postWebhook(
      t,
      delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello')] }, phoneNumberId),
      { secret },
    );
    expect(res.json()).toMatchObject({ events: { ingested: 2 } });
  }

  it("erases nobody for a deletion completion forged with another tenant's secret or without a valid signature", async () => {
    const p = person();
    await known(p);
    const subjectId = await subjectOf(p);
    const before = await requestCount();
    const completion = delivery({
      contacts: [contact(p)],
      messages: [flowReplyMessage(p, deletionPayload())],
    });
    // Tenant B's real app secret, addressed to the default tenant's number: every event refused.
    const forged = await postWebhook(t, completion, { secret: B.appSecret });
    expect(forged.statusCode).toBe(200);
    expect(forged.json().events).toMatchObject({ ingested: 0, rejected: 2 });
    const raw = Buffer.from(JSON.stringify(completion));
    for (const signature of [
      null,
      `sha256=${'0'.repeat(64)}`,
      signMetaBody(raw, 'an-app-secret-nobody-has'),
      signMetaBody(Buffer.from(`${raw.toString()} `), TEST_APP_SECRET),
    ]) {
      expect((await postWebhook(t, raw, { signature })).statusCode).toBe(401);
    }
    expect(await subjectOf(p)).toBe(subjectId);
    expect(await requestCount()).toBe(before);
  });

  it('never lets a Flow token act for anyone but the person it was issued to', async () => {
    const [a, b] = [person(), person()];
    await known(a);
    await known(b);
    const subjectA = await subjectOf(a);
    const { token } = await issueToken(t, phoneOf(a));

    // B completes a Flow carrying A's token: the signed sender is the only one acted on.
    const res = await postWebhook(
      t,
      delivery({
        contacts: [contact(b)],
        messages: [flowReplyMessage(b, deletionPayload({ flow_token: token }))],
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(await subjectOf(b)).toBeUndefined();
    expect(await subjectOf(a)).toBe(subjectA);
    // A's token was not spent by it.
    const home = await callFlow(t, { version: '3.0', action: 'INIT', flow_token: token });
    expect(home.answer).toMatchObject({ screen: 'PRIVACY_HOME', data: { identities: 1 } });

    // On the Flows endpoint, A's token erases A, whoever the submitted data names.
    const c = person();
    await known(c);
    const subjectC = await subjectOf(c);
    const erase = await callFlow(t, {
      version: '3.0',
      action: 'data_exchange',
      screen: 'CONFIRM_DELETE',
      flow_token: token,
      data: { confirmed: true, scope: 'all', phone: c.e164, wa_id: c.waId, user_id: c.bsuid },
    });
    expect(erase.answer).toMatchObject({ screen: 'SUCCESS' });
    expect(await subjectOf(a)).toBeUndefined();
    expect(await subjectOf(c)).toBe(subjectC);
  });

  it("records a request for the API key's own tenant, whatever tenant the body names", async () => {
    const [keyA, keyB] = [await apiKey(t, 'service'), await apiKey(t, 'admin', B.id)];
    const p = person();
    await known(p, B.phoneNumberId, B.appSecret);
    const res = await api(t, keyA).post('/v1/requests', {
      type: 'erasure',
      phone: p.e164,
      tenant: B.id,
      tenant_id: B.id,
    });
    expect(res.statusCode).toBe(202);
    const { id } = res.json<{ id: string }>();
    const row = await db()
      .selectFrom('privacy_requests')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.tenant_id).toBe('default');
    // Nothing reaches tenant B's person, and B's key does not see the request.
    expect(await subjectOf(p, B.id)).toBeDefined();
    expect((await api(t, keyB).get(`/v1/requests/${id}`)).statusCode).toBe(404);
    const listed = (await api(t, keyB).get('/v1/requests')).json<{ requests: { id: string }[] }>().requests;
    expect(listed.map((r) => r.id)).not.toContain(id);
  });

  it('keeps injection-shaped identities and names as data: refused where they must be valid, stored encrypted otherwise', async () => {
    const tables = async () =>
      (
        await sql<{ table_name: string }>`select table_name from information_schema.tables
          where table_schema = 'public' order by table_name`.execute(db())
      ).rows.map((r) => r.table_name);
    const subjects = () => rowCount('subjects');
    const [tablesBefore, subjectsBefore] = [await tables(), await subjects()];
    const key = await apiKey(t, 'service');

    // A real person whose profile name is an injection: stored as written, encrypted.
    const p = person();
    const name = `Robert${INJECTION} ${crypto.randomBytes(3).toString('hex')}`;
    people.push({ ...p, name });
    const ingested = await postWebhook(
      t,
      delivery({ contacts: [{ profile: { name }, wa_id: p.waId }], messages: [textMessage(p, INJECTION)] }),
    );
    expect(ingested.json()).toMatchObject({ events: { ingested: 2, rejected: 0 } });
    const subjectId = (await subjectOf(p))!;
    const stored = await db()
      .selectFrom('subjects')
      .selectAll()
      .where('id', '=', subjectId)
      .executeTakeFirstOrThrow();
    const cipher = await t.ctx.subjectKeys.cipher(db(), subjectId);
    expect(cipher!.decrypt(stored.profile_name!, 'subjects', 'profile_name', subjectId)).toBe(name);

    // Identities that are injections are not identities: refused, never echoed.
    const hostile = [INJECTION, `+1555${INJECTION}`, `${p.waId}' OR '1'='1`, `US.x${INJECTION}`];
    const rejected = await postWebhook(
      t,
      delivery({
        contacts: hostile.map((h) => ({ profile: { name: 'x' }, wa_id: h, user_id: h })),
        messages: hostile.flatMap((h) => [
          { ...textMessage(p, 'hi'), from: h },
          { ...textMessage(p, 'hi', { phone: false }), from_user_id: h },
        ]),
      }),
    );
    expect(rejected.json()).toMatchObject({ events: { ingested: 0, rejected: 12 } });
    for (const value of hostile) {
      for (const [url, body] of [
        ['/v1/requests', { type: 'erasure', phone: value }],
        ['/v1/requests', { type: 'access', user_id: value }],
        ['/v1/flow-tokens', { phone: value }],
        ['/v1/flow-tokens', { user_id: value }],
      ] as const) {
        const res = await api(t, key).post(url, body);
        expect(res.statusCode, `${url} ${JSON.stringify(body)}`).toBe(400);
        expect(res.body).not.toContain(value);
      }
    }
    const signIn = await t.app.inject({
      method: 'POST',
      url: '/admin/api/session',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: `x' OR '1'='1`, password: INJECTION, totp: '000000' }),
    });
    expect(signIn.statusCode).toBe(401);
    const flow = await callFlow(t, { version: '3.0', action: 'INIT', flow_token: INJECTION });
    expect(flow.status).toBe(427);
    const callback = await t.app.inject({
      method: 'POST',
      url: `/callbacks/systems/${encodeURIComponent(INJECTION)}/${encodeURIComponent(INJECTION)}`,
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(callback.statusCode).toBe(404);

    expect(await tables()).toEqual(tablesBefore);
    expect(await subjects()).toBe(subjectsBefore + 1);
  });

  it("leaves none of this file's people's numbers, ids or names in the logs or a dump of the store", async () => {
    const secrets = people.flatMap((p) => [p.e164, p.waId, p.bsuid, p.name]);
    expect(secrets.length).toBeGreaterThanOrEqual(20);
    const logs = t.logs.text();
    expect(logs.length).toBeGreaterThan(0);
    expect(secrets.filter((s) => logs.includes(s))).toEqual([]);
    const bytes = await dumpStore(t);
    expect(bytes.length).toBeGreaterThan(10_000);
    // The dump is searchable: a value stored in plaintext on purpose is found in it.
    expect(bytes.includes(B.phoneNumberId)).toBe(true);
    const found = secrets.filter((s) => bytes.includes(s));
    expect(found.map((s) => `${s.slice(0, 4)}… (${s.length} chars)`)).toEqual([]);
  });
});
