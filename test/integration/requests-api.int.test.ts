import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifyWorker } from '../../src/modules/dsr/index.js';
import { maxExtendedDue } from '../../src/modules/dsr/deadlines.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { startFakeGraph, type FakeGraph } from '../helpers/fake-graph.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { phoneOf, type Person } from '../helpers/webhook-payloads.js';
import {
  GRAPH_ENV,
  api,
  apiKey,
  confirmButton,
  knownPerson,
  tap,
  textMessageTo,
} from './requests.fixtures.js';

const PUBLIC_URL = 'https://privacy.example.test';
const DAY = 86_400_000;

/** /v1/requests: staff-entered requests, their state, exports, proofs and decisions, scoped to the key's tenant. */
describe.each(storeKinds())('the requests API on %s', (kind) => {
  let t: TestApp;
  let graph: FakeGraph;
  let key: string;
  let adminKey: string;
  let otherKey: string;
  let offset = 0;
  beforeAll(async () => {
    graph = await startFakeGraph();
    t = await createTestApp(
      kind,
      { ...GRAPH_ENV, WHATSAPP_GRAPH_URL: graph.url, FLOWGUARD_PUBLIC_URL: PUBLIC_URL },
      { clock: () => new Date(Date.now() + offset) },
    );
    await startNotifyWorker(t.ctx);
    await addTenant(
      { db: t.ctx.database.db, keyring: t.ctx.keyring },
      { id: 'other', phoneNumberId: '100000000000077', appSecret: 'other-app-secret-0001' },
    );
    await t.ctx.tenants.reload();
    key = await apiKey(t);
    adminKey = await apiKey(t, 'admin');
    otherKey = await apiKey(t, 'admin', 'other');
  });
  afterAll(async () => {
    await t?.close();
    await graph?.close();
  });

  const db = () => t.ctx.database.db;
  type Created = { id: string; reference: string; status: string };
  const countRequests = async () => (await db().selectFrom('privacy_requests').select('id').execute()).length;

  /** A request through the API, confirmed by the person's own tap. */
  async function confirmed(p: Person, body: Record<string, unknown>): Promise<Created> {
    const res = await api(t, key).post('/v1/requests', { phone: p.e164, ...body });
    expect(res.statusCode).toBe(202);
    const created = res.json<Created>();
    await tap(t, p, await confirmButton(graph, p, created.reference));
    const view = await api(t, key).get(`/v1/requests/${created.id}`);
    expect(view.json()).toMatchObject({ status: 'completed' });
    return created;
  }

  it("records a request for the key's tenant, joins a repeat, and hides it from other tenants", async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const first = await api(t, key).post('/v1/requests', { type: 'erasure', phone: p.e164 });
    expect(first.statusCode).toBe(202);
    const created = first.json<Created>();
    expect(created).toEqual({
      id: expect.any(String),
      reference: expect.stringMatching(/^FG-/),
      status: 'awaiting_verification',
    });
    const again = await api(t, key).post('/v1/requests', { type: 'erasure', phone: p.e164 });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(created);

    const view = await api(t, key).get(`/v1/requests/${created.id}`);
    expect(view.statusCode).toBe(200);
    expect(view.json()).toMatchObject({
      id: created.id,
      type: 'erasure',
      scope: 'all',
      channel: 'api',
      status: 'awaiting_verification',
      verification: null,
      regime: 'gdpr',
      overdue: false,
      due_at: expect.any(String),
      systems: [],
    });
    const list = await api(t, key).get('/v1/requests?status=awaiting_verification');
    expect(list.json<{ requests: { id: string }[] }>().requests.map((r) => r.id)).toContain(created.id);

    for (const url of ['', '/export', '/proof']) {
      const res = await api(t, otherKey).get(`/v1/requests/${created.id}${url}`);
      expect(res.statusCode, url).toBe(404);
    }
    for (const [url, body] of [
      ['/extend', { days: 5, reason_code: 'complexity' }],
      ['/deny', { reason_code: 'excessive' }],
      ['/export-link', {}],
    ] as const) {
      const res = await api(t, otherKey).post(`/v1/requests/${created.id}${url}`, body);
      expect(res.statusCode, url).toBe(404);
    }
    expect((await api(t, otherKey).get('/v1/requests')).json()).toEqual({ requests: [] });
    expect((await api(t, key).get('/v1/requests/not-a-uuid')).statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'GET', url: `/v1/requests/${created.id}` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('answers 400 naming the field, never echoing the value', async () => {
    const p = fakePerson();
    const bogus = `${p.waId}xyz`;
    const before = await countRequests();
    const cases: [unknown, string][] = [
      [{ type: 'forget_me', phone: p.e164 }, 'type'],
      [{ type: 'erasure', phone: bogus }, 'phone'],
      [{ type: 'erasure', user_id: bogus }, 'user_id'],
      [{ type: 'erasure' }, 'phone'],
      [{ type: 'erasure', phone: p.e164, user_id: p.bsuid }, 'phone'],
      [{ type: 'erasure', phone: p.e164, scope: bogus }, 'scope'],
      [{ type: 'access', phone: p.e164, scope: 'messages' }, 'scope'],
      [{ type: 'rectification', phone: p.e164 }, 'params'],
      [{ type: 'rectification', phone: p.e164, params: { profile_name: '' } }, 'params.profile_name'],
      [
        { type: 'rectification', phone: p.e164, params: { flow_response: { id: bogus, fields: {} } } },
        'params.flow_response.id',
      ],
      [{ type: 'erasure', phone: p.e164, params: { profile_name: 'x' } }, 'params'],
      [[p.e164], 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await api(t, key).post('/v1/requests', body);
      expect(res.statusCode, field).toBe(400);
      expect(res.json().error, field).toMatchObject({ code: 'VALIDATION_FAILED', field });
      expect(res.body).not.toContain(p.waId);
    }
    const notJson = await api(t, key).post('/v1/requests', '{"type": ');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe('INVALID_JSON');
    expect(t.logs.text()).not.toContain(p.waId);
    expect(await countRequests()).toBe(before);
  });

  it('carries out an opt-out at once, with no confirmation', async () => {
    const p = fakePerson();
    const subjectId = await knownPerson(t, p);
    const res = await api(t, key).post('/v1/requests', { type: 'opt_out', phone: p.e164 });
    expect(res.statusCode).toBe(202);
    const created = res.json<Created>();
    expect(created.status).toBe('completed');
    const view = (await api(t, key).get(`/v1/requests/${created.id}`)).json();
    expect(view).toMatchObject({
      verification: 'not_required',
      systems: [{ id: 'flowguard', status: 'done' }],
    });
    const s = await db()
      .selectFrom('subjects')
      .select('marketing_opt_out')
      .where('id', '=', subjectId)
      .executeTakeFirstOrThrow();
    expect(s.marketing_opt_out).toBe(true);
  });

  it('exports a completed access request as JSON and CSV, audited, and sends the person an expiring link', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const pending = await api(t, key).post('/v1/requests', { type: 'access', phone: p.e164 });
    const early = await api(t, key).get(`/v1/requests/${pending.json<Created>().id}/export`);
    expect(early.statusCode).toBe(409);
    await tap(t, p, await confirmButton(graph, p, pending.json<Created>().reference));
    const { id, reference } = pending.json<Created>();
    expect((await api(t, key).get(`/v1/requests/${id}`)).json()).toMatchObject({ status: 'completed' });

    // The person is told, with a link under the public URL that works without an API key.
    const message = await textMessageTo(graph, p, `${reference} is complete`);
    const link = /https:\/\/privacy\.example\.test(\/exports\/[A-Za-z0-9_.-]+)/.exec(message);
    expect(link).not.toBeNull();
    const outbox = await db().selectFrom('outbound_notifications').select('params').execute();
    expect(JSON.stringify(outbox)).not.toContain('/exports/');
    const own = await t.app.inject({ method: 'GET', url: link![1]! });
    expect(own.statusCode).toBe(200);
    expect(own.headers['cache-control']).toBe('no-store');
    const bundle = own.json<{
      format: string;
      categories: { id: string; records: Record<string, unknown>[] }[];
    }>();
    expect(bundle.format).toBe('flowguard.access.v1');
    expect(bundle.categories.find((c) => c.id === 'profile')?.records[0]).toMatchObject({
      profile_name: p.name,
    });
    expect(bundle.categories.find((c) => c.id === 'identity')?.records[0]).toMatchObject({ value: p.e164 });

    const viaApi = await api(t, key).get(`/v1/requests/${id}/export`);
    expect(viaApi.statusCode).toBe(200);
    expect(viaApi.json().request).toMatchObject({ id, reference });
    const csv = await api(t, key).get(`/v1/requests/${id}/export?format=csv&category=messages`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.split('\r\n')[0]).toBe('direction,type,sent_at,content');
    expect((await api(t, key).get(`/v1/requests/${id}/export?format=csv&category=secrets`)).statusCode).toBe(
      400,
    );
    expect((await api(t, key).get(`/v1/requests/${id}/export?format=xml`)).statusCode).toBe(400);
    const audited = await db()
      .selectFrom('audit_log')
      .select(['actor_type', 'data'])
      .where('request_id', '=', id)
      .where('event_type', '=', 'export.generated')
      .execute();
    expect(audited.map((a) => [a.actor_type, (a.data as { format: string }).format])).toEqual([
      ['subject', 'json'],
      ['api_key', 'json'],
      ['api_key', 'csv'],
    ]);

    // A fresh link on demand; it expires.
    const made = await api(t, key).post(`/v1/requests/${id}/export-link`);
    expect(made.statusCode).toBe(201);
    const { url, expires_at } = made.json<{ url: string; expires_at: string }>();
    expect(url.startsWith(`${PUBLIC_URL}/exports/`)).toBe(true);
    expect(new Date(expires_at).getTime() - Date.now()).toBeGreaterThan(DAY - 60_000);
    const path = url.slice(PUBLIC_URL.length);
    expect((await t.app.inject({ method: 'GET', url: path })).statusCode).toBe(200);
    const forged = `${path.slice(0, -3)}${path.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    expect((await t.app.inject({ method: 'GET', url: forged })).statusCode).toBe(404);
    expect((await api(t, key).post(`/v1/requests/${id}/export-link`, { ttl_seconds: 5 })).statusCode).toBe(
      400,
    );
    offset = DAY + 3_600_000;
    try {
      expect((await t.app.inject({ method: 'GET', url: path })).statusCode).toBe(410);
    } finally {
      offset = 0;
    }
  });

  it('proves an erasure with times, systems, audit events and a verified chain, and nothing about the person', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const { id, reference } = await confirmed(p, { type: 'erasure' });
    const res = await api(t, key).get(`/v1/requests/${id}/proof`);
    expect(res.statusCode).toBe(200);
    const proof = res.json<{
      request: Record<string, unknown>;
      systems: { id: string; counts: Record<string, number> }[];
      audit: { events: { event_type: string; hash: string }[]; chain: { verified: boolean } };
      retained: unknown[];
    }>();
    expect(proof.request).toMatchObject({
      id,
      reference,
      type: 'erasure',
      scope: 'all',
      regime: 'gdpr',
      status: 'completed',
      verification: 'whatsapp_confirmation',
      received_at: expect.any(String),
      verified_at: expect.any(String),
      completed_at: expect.any(String),
      due_at: expect.any(String),
      on_time: true,
    });
    expect(proof.systems).toEqual([
      expect.objectContaining({
        id: 'flowguard',
        action: 'erasure',
        counts: expect.objectContaining({ identities: 1, data_key: 1 }),
      }),
    ]);
    expect(proof.audit.events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining([
        'request.received',
        'request.verified',
        'erasure.own_store',
        'request.completed',
      ]),
    );
    expect(proof.audit.events.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    expect(proof.audit.chain.verified).toBe(true);
    expect(proof.retained).toEqual([]);
    for (const secret of [p.waId, p.e164, p.name, p.bsuid]) expect(res.body).not.toContain(secret);
  });

  it('extends and denies for admin keys only, within the legal maximum, and tells the person', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const created = (
      await api(t, key).post('/v1/requests', { type: 'erasure', phone: p.e164 })
    ).json<Created>();
    const url = `/v1/requests/${created.id}`;
    expect(
      (await api(t, key).post(`${url}/extend`, { days: 10, reason_code: 'complexity' })).statusCode,
    ).toBe(403);
    expect((await api(t, key).post(`${url}/deny`, { reason_code: 'excessive' })).statusCode).toBe(403);
    const bad = await api(t, adminKey).post(`${url}/extend`, { days: 10, reason_code: 'because' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('reason_code');
    expect(
      (await api(t, adminKey).post(`${url}/extend`, { days: 0, reason_code: 'complexity' })).json().error
        .field,
    ).toBe('days');

    const before = (await api(t, key).get(url)).json<{ due_at: string; received_at: string }>();
    const ext = await api(t, adminKey).post(`${url}/extend`, { days: 10, reason_code: 'complexity' });
    expect(ext.statusCode).toBe(200);
    expect(new Date(ext.json().due_at).getTime() - new Date(before.due_at).getTime()).toBe(10 * DAY);
    await textMessageTo(graph, p, 'because it is complex');
    // GDPR: at most two further months, counted on the original month.
    const capped = await api(t, adminKey).post(`${url}/extend`, {
      days: 92,
      reason_code: 'number_of_requests',
    });
    expect(capped.statusCode).toBe(200);
    expect(capped.json().due_at).toBe(maxExtendedDue('gdpr', new Date(before.received_at)).toISOString());
    expect(
      (await api(t, adminKey).post(`${url}/extend`, { days: 5, reason_code: 'complexity' })).statusCode,
    ).toBe(409);
    expect((await api(t, key).get(url)).json()).toMatchObject({ extended: true });
    const extended = await db()
      .selectFrom('audit_log')
      .select('data')
      .where('request_id', '=', created.id)
      .where('event_type', '=', 'request.extended')
      .execute();
    expect(extended.map((e) => e.data)).toEqual([
      { regime: 'gdpr', extra_days: 10, notified: true, reason: 'complexity' },
      expect.objectContaining({ notified: true, reason: 'number_of_requests' }),
    ]);

    // Deny: the button stops working and the person is told.
    const buttonId = await confirmButton(graph, p, created.reference);
    const denied = await api(t, adminKey).post(`${url}/deny`, { reason_code: 'manifestly_unfounded' });
    expect(denied.statusCode).toBe(200);
    expect(denied.json()).toMatchObject({
      status: 'denied',
      deny_reason: 'manifestly_unfounded',
      notified: true,
    });
    await textMessageTo(graph, p, 'could not carry out');
    await tap(t, p, buttonId);
    expect((await api(t, key).get(url)).json()).toMatchObject({ status: 'denied' });
    expect(await t.ctx.subjects.find(db(), 'default', [phoneOf(p)])).toBeDefined();
    expect((await api(t, adminKey).post(`${url}/deny`, { reason_code: 'excessive' })).statusCode).toBe(409);
    expect(
      (await api(t, adminKey).post(`${url}/extend`, { days: 1, reason_code: 'complexity' })).statusCode,
    ).toBe(409);
  });

  it('documents every route it serves', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    for (const [path, methods] of [
      ['/v1/requests', ['post', 'get']],
      ['/v1/requests/{id}', ['get']],
      ['/v1/requests/{id}/export', ['get']],
      ['/v1/requests/{id}/export-link', ['post']],
      ['/v1/requests/{id}/proof', ['get']],
      ['/v1/requests/{id}/extend', ['post']],
      ['/v1/requests/{id}/deny', ['post']],
      ['/exports/{token}', ['get']],
    ] as const) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual([...methods].sort());
    }
  });
});
