import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/modules/audit/index.js';
import { createDsrDeps, createRequest, type CreateRequestInput } from '../../src/modules/dsr/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * A new request goes in with one statement when the person has no open request of its type; with one open, that
 * request decides: the same ask (or a verified one that covers it) joins it, anything else is recorded anew.
 */
describe.each(storeKinds())('recording and joining requests on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());
  const db = () => t.ctx.database.db;

  async function create(phone: string, input: Partial<CreateRequestInput>) {
    const tenant = await t.ctx.tenants.getDefault();
    return db()
      .transaction()
      .execute((tx) =>
        createRequest(tx, createDsrDeps(t.ctx), {
          tenant,
          type: 'erasure',
          channel: 'flow',
          subject: { identity: { kind: 'phone', value: phone } },
          verification: 'flow_token',
          actor: { type: 'subject' },
          ...input,
        }),
      );
  }
  const erasuresCounted = async () =>
    Number(
      (
        await db()
          .selectFrom('compliance_counters')
          .select('value')
          .where('tenant_id', '=', 'default')
          .where('name', '=', 'erasure_requests')
          .executeTakeFirst()
      )?.value ?? 0,
    );
  const statusOf = async (id: string) =>
    (
      await db()
        .selectFrom('privacy_requests')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).status;

  it('records a request when none is open, counts it once and chains its events', async () => {
    const p = fakePerson();
    const before = await erasuresCounted();
    const first = await create(p.e164, {});
    expect(first).toMatchObject({ status: 'completed', joined: false });
    // Completed at once: a second one is a new request, not a join.
    const second = await create(p.e164, {});
    expect(second.joined).toBe(false);
    expect(second.id).not.toBe(first.id);
    expect(await erasuresCounted()).toBe(before + 2);
    const events = await db()
      .selectFrom('audit_log')
      .select('event_type')
      .where('request_id', '=', first.id)
      .orderBy('seq')
      .execute();
    expect(events.map((e) => e.event_type)).toEqual([
      'request.received',
      'request.verified',
      'erasure.own_store',
      'request.completed',
    ]);
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });

  it('joins the same ask, and never lets a narrow request verify a broader one awaiting confirmation', async () => {
    const p = fakePerson();
    const before = await erasuresCounted();
    const staff = await create(p.e164, {
      channel: 'admin',
      verification: null,
      actor: { type: 'admin', id: crypto.randomUUID() },
    });
    expect(staff).toMatchObject({ status: 'awaiting_verification', joined: false });

    const narrow = await create(p.e164, { scope: 'messages' });
    expect(narrow.joined).toBe(false);
    expect(narrow.id).not.toBe(staff.id);
    expect(await statusOf(staff.id)).toBe('awaiting_verification');

    // Another type is another request.
    const optOut = await create(p.e164, { type: 'opt_out', verification: null });
    expect(optOut.joined).toBe(false);

    // The person's own request for the same thing joins the staff one and verifies it.
    const same = await create(p.e164, {});
    expect(same).toMatchObject({ id: staff.id, joined: true, status: 'completed' });
    expect(await statusOf(staff.id)).toBe('completed');
    // Counted once per recorded erasure request: the staff one and the narrow one, not the join.
    expect(await erasuresCounted()).toBe(before + 2);
    const joinedEvents = await db()
      .selectFrom('audit_log')
      .select('event_type')
      .where('request_id', '=', staff.id)
      .where('event_type', '=', 'request.joined')
      .execute();
    expect(joinedEvents).toHaveLength(1);
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });
});
