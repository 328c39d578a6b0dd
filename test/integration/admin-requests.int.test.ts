import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKinds } from '../helpers/test-app.js';
import {
  auditRows,
  createAdminWorld,
  expectNothingPersonal,
  lastSeq,
  type AdminWorld,
  type RequestSummary as Summary,
} from './admin.fixtures.js';

const DAY = 86_400_000;
const MIN = 60_000;

/** The request queue and its decisions through /admin/api, and the audit of every look and change. */
describe.each(storeKinds())('the request queue in the admin API on %s', (kind) => {
  let w: AdminWorld;
  beforeAll(async () => {
    w = await createAdminWorld(kind);
  });
  afterAll(async () => w?.close());

  it('lists the queue most urgent first, with filters and keyset paging', async () => {
    w.offset = -40 * DAY; // received 40 days ago: due 10 days ago under the GDPR's one month
    const late = await w.request({ tenant: 'queue' });
    w.offset = -3 * DAY;
    const a1 = await w.request({ tenant: 'queue' });
    w.offset = 0;
    const a2 = await w.request({ tenant: 'queue' });
    const done = await w.request({ tenant: 'queue', type: 'access', state: 'completed' });
    const po = w.as('po');
    const all = await po.get('/admin/api/requests?tenant=queue');
    expect(all.statusCode, all.body).toBe(200);
    const list = all.json<{ requests: Summary[]; next_cursor: string | null }>();
    expect(list.requests.map((r) => r.id)).toEqual([late.id, a1.id, a2.id, done.id]);
    expect(list.next_cursor).toBeNull();
    expect(list.requests[0]).toMatchObject({
      overdue: true,
      status: 'awaiting_verification',
      tenant: 'queue',
    });
    expect(JSON.stringify(list)).not.toMatch(/\+1555/);

    const ids = async (query: string) =>
      (await po.get(`/admin/api/requests?tenant=queue&${query}`))
        .json<{ requests: Summary[] }>()
        .requests.map((r) => r.id);
    expect(await ids('overdue=true')).toEqual([late.id]);
    expect(await ids('status=completed')).toEqual([done.id]);
    expect(await ids('type=access')).toEqual([done.id]);
    const cut = new Date(Date.now() + 28 * DAY).toISOString();
    expect(await ids(`due_before=${encodeURIComponent(cut)}`)).toEqual([late.id, a1.id]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await po.get(
        `/admin/api/requests?tenant=queue&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const page = res.json<{ requests: Summary[]; next_cursor: string | null }>();
      expect(page.requests.length).toBeLessThanOrEqual(3);
      seen.push(...page.requests.map((r) => r.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([late.id, a1.id, a2.id, done.id]);

    for (const bad of ['status=open', 'limit=0', 'due_before=yesterday', 'cursor=bm9wZQ', 'overdue=maybe']) {
      const res = await po.get(`/admin/api/requests?${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });

  it('shows one request with its tasks and timeline, and audits the look (who, which request, which subject)', async () => {
    const r = await w.request({ state: 'completed' });
    const before = await lastSeq(w.t);
    const res = await w.as('po').get(`/admin/api/requests/${r.id}`);
    expect(res.statusCode, res.body).toBe(200);
    const detail = res.json<{
      systems: { id: string; status: string }[];
      events: { event_type: string }[];
    }>();
    expect(detail).toMatchObject({
      id: r.id,
      tenant: 'default',
      status: 'completed',
      verification: 'flow_token',
    });
    expect(detail.systems).toEqual([expect.objectContaining({ id: 'flowguard', status: 'done' })]);
    expect(detail.events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['request.received', 'request.verified', 'request.completed']),
    );
    const [access] = await auditRows(w.t, { afterSeq: before });
    const row = await w
      .db()
      .selectFrom('privacy_requests')
      .select('subject_ref')
      .where('id', '=', r.id)
      .executeTakeFirstOrThrow();
    expect(access).toMatchObject({
      event_type: 'admin.access',
      tenant_id: 'default',
      actor_type: 'admin',
      actor_id: w.admins.get('po')!.id,
      request_id: r.id,
      subject_ref: row.subject_ref,
      data: { resource: 'request', action: 'view' },
    });
    expect(await auditRows(w.t, { afterSeq: before })).toHaveLength(1);
  });

  it('approves an unconfirmed request with a reason: verified as staff_approval and carried out, all audited', async () => {
    const r = await w.request();
    const po = w.as('po');
    expect(
      (await po.post(`/admin/api/requests/${r.id}/approve`, { reason_code: 'because' })).json(),
    ).toMatchObject({
      error: { code: 'VALIDATION_FAILED', field: 'reason_code' },
    });
    const plain = await w.t.app.inject({
      method: 'POST',
      url: `/admin/api/requests/${r.id}/approve`,
      headers: {
        cookie: w.sessions.get('po')!.cookie,
        'x-csrf-token': w.sessions.get('po')!.csrf,
        'content-type': 'text/plain',
      },
      payload: JSON.stringify({ reason_code: 'verified_in_person' }),
    });
    expect(plain.statusCode).toBe(415);
    const before = await lastSeq(w.t);
    const res = await po.post(`/admin/api/requests/${r.id}/approve`, { reason_code: 'verified_in_person' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id: r.id, reference: r.reference, status: 'completed' });
    const events = await auditRows(w.t, { afterSeq: before });
    expect(events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining([
        'request.approved',
        'request.verified',
        'erasure.own_store',
        'request.completed',
      ]),
    );
    expect(events.find((e) => e.event_type === 'request.approved')).toMatchObject({
      actor_type: 'admin',
      actor_id: w.admins.get('po')!.id,
      request_id: r.id,
      data: { reason: 'verified_in_person' },
    });
    expect(events.find((e) => e.event_type === 'request.verified')?.data).toEqual({
      method: 'staff_approval',
    });
    const stored = await w
      .db()
      .selectFrom('privacy_requests')
      .select(['status', 'verification'])
      .where('id', '=', r.id)
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({ status: 'completed', verification: 'staff_approval' });
    // Once carried out, it cannot be approved, denied or extended.
    expect(
      (await po.post(`/admin/api/requests/${r.id}/approve`, { reason_code: 'verified_in_person' }))
        .statusCode,
    ).toBe(409);
    expect((await po.post(`/admin/api/requests/${r.id}/deny`, { reason_code: 'excessive' })).statusCode).toBe(
      409,
    );
  });

  it('denies and extends with a reason (the person is told), audited as the admin', async () => {
    const po = w.as('po');
    const toDeny = await w.request();
    const before = await lastSeq(w.t);
    const denied = await po.post(`/admin/api/requests/${toDeny.id}/deny`, {
      reason_code: 'manifestly_unfounded',
    });
    expect(denied.statusCode, denied.body).toBe(200);
    expect(denied.json()).toMatchObject({
      status: 'denied',
      deny_reason: 'manifestly_unfounded',
      notified: true,
    });
    const toExtend = await w.request();
    const extended = await po.post(`/admin/api/requests/${toExtend.id}/extend`, {
      days: 30,
      reason_code: 'complexity',
    });
    expect(extended.statusCode, extended.body).toBe(200);
    expect(extended.json()).toMatchObject({ extension_reason: 'complexity', notified: true });
    const view = (await po.get(`/admin/api/requests/${toExtend.id}`)).json<{ extended: boolean }>();
    expect(view.extended).toBe(true);
    const mine = (await auditRows(w.t, { afterSeq: before })).filter(
      (e) => e.actor_id === w.admins.get('po')!.id,
    );
    expect(mine.map((e) => [e.event_type, e.request_id])).toEqual([
      ['request.denied', toDeny.id],
      ['request.extended', toExtend.id],
      ['admin.access', toExtend.id],
    ]);
  });

  it('downloads an export only with a fresh second factor, audited as export.generated by the admin', async () => {
    const r = await w.request({ type: 'access', state: 'completed' });
    const po = w.as('po');
    const before = await lastSeq(w.t);
    const json = await po.get(`/admin/api/requests/${r.id}/export`);
    expect(json.statusCode, json.body).toBe(200);
    expect(json.headers['cache-control']).toBe('no-store');
    expect(json.headers['content-disposition']).toContain(`flowguard-export-${r.reference}.json`);
    expect(json.body).toContain(r.phone); // the person's own data, for the person
    const csv = await po.get(`/admin/api/requests/${r.id}/export?format=csv&category=identity`);
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const exported = await auditRows(w.t, { afterSeq: before, type: 'export.generated' });
    expect(
      exported.map((e) => [e.actor_type, e.actor_id, e.request_id, (e.data as { format: string }).format]),
    ).toEqual([
      ['admin', w.admins.get('po')!.id, r.id, 'json'],
      ['admin', w.admins.get('po')!.id, r.id, 'csv'],
    ]);
    // Not an access request → 409; an old second factor → 401 MFA_REQUIRED until the admin shows it again.
    expect(
      (await po.get(`/admin/api/requests/${(await w.request({ state: 'completed' })).id}/export`)).statusCode,
    ).toBe(409);
    w.offset += 16 * MIN;
    const stale = await po.get(`/admin/api/requests/${r.id}/export`);
    expect(stale.statusCode).toBe(401);
    expect(stale.json()).toMatchObject({ error: { code: 'MFA_REQUIRED' } });
    await w.stepUp('po');
    expect((await po.get(`/admin/api/requests/${r.id}/export`)).statusCode).toBe(200);
    const proof = await po.get(`/admin/api/requests/${r.id}/proof`);
    expect(proof.statusCode).toBe(200);
    expect(proof.json()).toMatchObject({ format: 'flowguard.proof.v1', request: { id: r.id } });
    expect(proof.body).not.toContain(r.phone);
  });

  it('writes nothing personal into audit rows or logs', async () => {
    await expectNothingPersonal(w);
  });
});
