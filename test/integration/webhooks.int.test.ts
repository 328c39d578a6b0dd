import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT } from '../../src/lib/http/http.js';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { storedEventKey } from '../../src/modules/whatsapp/index.js';
import {
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  TEST_VERIFY_TOKEN,
  createTestApp,
  fakePerson,
  storeKinds,
  type TestApp,
} from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  envelope,
  messagesValue,
  phoneOf,
  postWebhook,
  snapshotTables,
  statusItem,
  textMessage,
  webhookEventCount,
  type Person,
} from '../helpers/webhook-payloads.js';

/** The receiver's HTTP contract, idempotence and tenant isolation. Data handling: webhooks-ingest.int.test.ts. */

const B = { id: 'tenant-b', phoneNumberId: '100000000000002', appSecret: 'tenant-b-app-secret-987654' };

describe.each(storeKinds())('webhook receiver on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    await addTenant(
      { db: t.ctx.database.db, keyring: t.ctx.keyring },
      { ...B, verifyToken: 'tenant-b-verify-token' },
    );
    await t.ctx.tenants.reload();
  });
  afterAll(async () => t?.close());

  const subjectOf = (tenantId: string, p: Person) =>
    t.ctx.subjects.find(t.ctx.database.db, tenantId, [phoneOf(p)]);

  describe('verification handshake', () => {
    const verify = (query: Record<string, string>) =>
      t.app.inject({ method: 'GET', url: '/webhooks/whatsapp', query });

    it('echoes the challenge as text/plain for any tenant verify token', async () => {
      for (const token of [TEST_VERIFY_TOKEN, 'tenant-b-verify-token']) {
        const res = await verify({
          'hub.mode': 'subscribe',
          'hub.challenge': '1158201444',
          'hub.verify_token': token,
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
        expect(res.body).toBe('1158201444');
      }
    });

    it('answers 403 to a wrong or missing token or mode', async () => {
      const cases: Record<string, string>[] = [
        { 'hub.mode': 'subscribe', 'hub.challenge': '1', 'hub.verify_token': 'wrong-token-000000' },
        { 'hub.mode': 'subscribe', 'hub.challenge': '1', 'hub.verify_token': `${TEST_VERIFY_TOKEN}x` },
        { 'hub.mode': 'subscribe', 'hub.challenge': '1' },
        { 'hub.mode': 'unsubscribe', 'hub.challenge': '1', 'hub.verify_token': TEST_VERIFY_TOKEN },
        { 'hub.challenge': '1', 'hub.verify_token': TEST_VERIFY_TOKEN },
      ];
      for (const q of cases) expect((await verify(q)).statusCode).toBe(403);
    });

    it('answers 400 to a challenge that is not a short printable string', async () => {
      for (const challenge of ['x'.repeat(257), 'a b', '<\u0000>', '']) {
        const res = await verify({
          'hub.mode': 'subscribe',
          'hub.challenge': challenge,
          'hub.verify_token': TEST_VERIFY_TOKEN,
        });
        expect(res.statusCode).toBe(400);
      }
      const ok = await verify({
        'hub.mode': 'subscribe',
        'hub.challenge': 'x'.repeat(256),
        'hub.verify_token': TEST_VERIFY_TOKEN,
      });
      expect(ok.statusCode).toBe(200);
    });
  });

  describe('request checks', () => {
    const p = fakePerson();
    const body = () => delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello')] });

    it('answers 401 BAD_SIGNATURE to a missing, malformed, wrong-secret or foreign-body signature', async () => {
      const other = Buffer.from(JSON.stringify(body()));
      const signatures = [
        null,
        'sha256=',
        'sha1=abc',
        `sha256=${'0'.repeat(64)}`,
        signMetaBody(Buffer.from('{}'), TEST_APP_SECRET),
        signMetaBody(other, 'not-the-app-secret-000'),
      ];
      for (const signature of signatures) {
        const res = await postWebhook(t, other, { signature });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: 'BAD_SIGNATURE' } });
      }
      expect(await subjectOf('default', p)).toBeUndefined();
    });

    it('answers 413 to a body over 3 MB before anything else', async () => {
      const big = Buffer.alloc(BODY_LIMIT + 1, 0x20);
      const res = await postWebhook(t, big);
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
      const atLimit = Buffer.alloc(BODY_LIMIT, 0x20);
      atLimit.write('{}');
      expect((await postWebhook(t, atLimit)).statusCode).toBe(200);
    });

    it('answers 400 to malformed JSON or an empty body with a valid signature', async () => {
      const res = await postWebhook(t, '{"object": "whatsapp_business_account", "entry": [');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });
      expect((await postWebhook(t, Buffer.alloc(0))).statusCode).toBe(400);
    });

    it('acknowledges valid JSON that is not a WhatsApp envelope as ignored', async () => {
      const before = await webhookEventCount(t, 'payload', 'ignored');
      for (const other of [{ object: 'page', entry: [] }, [1, 2], '"text"', 42, null]) {
        const res = await postWebhook(t, other as never);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ status: 'ignored' });
      }
      expect(await webhookEventCount(t, 'payload', 'ignored')).toBe(before + 5);
    });

    it('never answers 5xx to garbage inside a valid envelope', async () => {
      const garbage = envelope([
        { value: { metadata: { phone_number_id: TEST_PHONE_NUMBER_ID }, messages: [{ id: 1 }, 'x', null] } },
        { field: 'messages', value: 'nope' },
        { field: 'account_update', value: { x: 1 } },
        { value: { messages: [textMessage(p, 'no metadata')] } },
        {
          value: {
            metadata: { phone_number_id: TEST_PHONE_NUMBER_ID },
            statuses: [{ id: 'w', status: 'sent' }],
          },
        },
      ]);
      const res = await postWebhook(t, garbage);
      expect(res.statusCode).toBe(200);
      expect(res.json().events).toMatchObject({ ingested: 0, rejected: 6, ignored: 1 });
    });
  });

  it('ingests a text message with its contact into an encrypted subject', async () => {
    const p = fakePerson();
    const msg = textMessage(p, 'Hello from a fake person');
    const res = await postWebhook(
      t,
      delivery({ contacts: [contact(p, { phone: true, bsuid: true })], messages: [msg] }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      events: { ingested: 2, duplicate: 0, rejected: 0, ignored: 0 },
    });

    const db = t.ctx.database.db;
    const subjectId = await subjectOf('default', p);
    expect(subjectId).toBeDefined();
    expect(await t.ctx.subjects.find(db, 'default', [bsuidOf(p)])).toBe(subjectId);
    const cipher = (await t.ctx.subjectKeys.cipher(db, subjectId!))!;
    const subject = await db
      .selectFrom('subjects')
      .selectAll()
      .where('id', '=', subjectId!)
      .executeTakeFirstOrThrow();
    expect(subject.profile_name).toMatch(/^v1\./);
    expect(cipher.decrypt(subject.profile_name!, 'subjects', 'profile_name', subjectId!)).toBe(p.name);
    const identities = await db
      .selectFrom('identities')
      .selectAll()
      .where('subject_id', '=', subjectId!)
      .execute();
    expect(identities.map((i) => i.kind).sort()).toEqual(['bsuid', 'phone']);
    for (const i of identities) {
      expect(i.value).not.toContain(p.waId);
      expect(cipher.decrypt(i.value, 'identities', 'value', i.id)).toBe(
        i.kind === 'phone' ? p.e164 : p.bsuid,
      );
    }
    const message = await db
      .selectFrom('messages')
      .selectAll()
      .where('subject_id', '=', subjectId!)
      .executeTakeFirstOrThrow();
    expect(message).toMatchObject({
      tenant_id: 'default',
      direction: 'inbound',
      type: 'text',
      content: null,
    });
    expect(message.sent_at.getTime()).toBe(Number(msg.timestamp) * 1000);
    const key = storedEventKey(t.ctx, 'default', `msg:${msg.id}`);
    expect(message.event_key).toBe(key);
    expect(key).not.toContain('wamid');
    const processed = await db
      .selectFrom('processed_events')
      .selectAll()
      .where('event_key', '=', key)
      .execute();
    expect(processed).toEqual([expect.objectContaining({ tenant_id: 'default', kind: 'message' })]);
    expect(await webhookEventCount(t, 'message', 'ingested')).toBeGreaterThan(0);
  });

  it('changes nothing at all when the same delivery arrives again', async () => {
    const [p, q] = [fakePerson(), fakePerson()];
    const payload = envelope([
      {
        value: messagesValue({
          contacts: [contact(p), contact(q, { bsuid: true })],
          messages: [textMessage(p, 'first'), textMessage(q, 'STOP', { phone: false, bsuid: true })],
          statuses: [statusItem(p, 'failed', { errorCode: 131047 })],
        }),
      },
      {
        field: 'user_id_update',
        value: { user_id: { previous: q.bsuid, current: `US.${crypto.randomBytes(8).toString('hex')}` } },
      },
    ]);
    const first = await postWebhook(t, payload);
    expect(first.json().events).toMatchObject({ ingested: 6, duplicate: 0 });
    const before = await snapshotTables(t);
    const second = await postWebhook(t, payload);
    expect(second.statusCode).toBe(200);
    expect(second.json().events).toEqual({ ingested: 0, duplicate: 6, rejected: 0, ignored: 0 });
    expect(await snapshotTables(t)).toEqual(before);
  });

  it('ingests a delivery once when copies arrive concurrently or an event repeats inside one', async () => {
    const p = fakePerson();
    const msg = textMessage(p, 'once');
    const payload = delivery({
      contacts: [contact(p)],
      messages: [msg, msg],
      statuses: [statusItem(p, 'sent')],
    });
    const results = await Promise.all([1, 2, 3].map(() => postWebhook(t, payload)));
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const ingested = results.map((r) => r.json().events.ingested as number).sort();
    expect(ingested).toEqual([0, 0, 3]);
    const subjectId = await subjectOf('default', p);
    const db = t.ctx.database.db;
    expect(
      await db.selectFrom('messages').select('id').where('subject_id', '=', subjectId!).execute(),
    ).toHaveLength(1);
    const statuses = await db
      .selectFrom('message_statuses')
      .select('id')
      .where('subject_id', '=', subjectId!)
      .execute();
    expect(statuses).toHaveLength(1);
  });

  describe('tenant isolation', () => {
    const deliverTo = (p: Person, phoneNumberId: string, secret: string) =>
      postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hi')] }, phoneNumberId), {
        secret,
      });

    it("refuses a payload signed with one tenant's secret addressed to another tenant's number", async () => {
      const p = fakePerson();
      const before = await snapshotTables(t);
      const rejected = await webhookEventCount(t, 'message', 'rejected');
      for (const [number, secret] of [
        [B.phoneNumberId, TEST_APP_SECRET],
        [TEST_PHONE_NUMBER_ID, B.appSecret],
        ['100000000000777', TEST_APP_SECRET],
      ] as const) {
        const res = await deliverTo(p, number, secret);
        expect(res.statusCode).toBe(200);
        expect(res.json().events).toEqual({ ingested: 0, duplicate: 0, rejected: 2, ignored: 0 });
      }
      expect(await snapshotTables(t)).toEqual(before);
      expect(await webhookEventCount(t, 'message', 'rejected')).toBe(rejected + 3);
      expect(t.logs.text()).toContain('webhook delivery had rejected events');
    });

    it('keeps the same phone number in two tenants as two subjects', async () => {
      const p = fakePerson();
      expect((await deliverTo(p, TEST_PHONE_NUMBER_ID, TEST_APP_SECRET)).json().events.ingested).toBe(2);
      expect((await deliverTo(p, B.phoneNumberId, B.appSecret)).json().events.ingested).toBe(2);
      const inA = await subjectOf('default', p);
      const inB = await subjectOf(B.id, p);
      expect(inA).toBeDefined();
      expect(inB).toBeDefined();
      expect(inA).not.toBe(inB);
      const rows = await t.ctx.database.db
        .selectFrom('subjects')
        .select(['id', 'tenant_id'])
        .where('id', 'in', [inA!, inB!])
        .execute();
      expect(rows.map((r) => r.tenant_id).sort()).toEqual(['default', B.id]);
    });
  });
});
