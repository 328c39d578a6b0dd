import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/modules/audit/index.js';
import { startNotifyWorker } from '../../src/modules/dsr/index.js';
import { startFakeGraph, type FakeGraph } from '../helpers/fake-graph.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { phoneOf, type Person } from '../helpers/webhook-payloads.js';
import {
  GRAPH_ENV,
  api,
  apiKey,
  cliFor,
  confirmButton,
  knownPerson,
  sentTo,
  tap,
  textMessageTo,
} from './requests.fixtures.js';

/**
 * A request entered by staff (API or CLI) names a person by phone number, which proves nothing: flowguard asks
 * that person in WhatsApp and acts only on their own tap, signed by Meta and sent from the same number.
 */
describe.each(storeKinds())('staff requests are verified by the person in WhatsApp on %s', (kind) => {
  let t: TestApp;
  let graph: FakeGraph;
  let key: string;
  let cli: Awaited<ReturnType<typeof cliFor>>;
  beforeAll(async () => {
    graph = await startFakeGraph();
    const env = { ...GRAPH_ENV, WHATSAPP_GRAPH_URL: graph.url };
    t = await createTestApp(kind, env);
    await startNotifyWorker(t.ctx);
    key = await apiKey(t);
    cli = await cliFor(t, env);
  });
  afterAll(async () => {
    await cli?.close();
    await t?.close();
    await graph?.close();
  });

  const db = () => t.ctx.database.db;
  const subjectOf = (p: Person) => t.ctx.subjects.find(db(), 'default', [phoneOf(p)]);
  const row = (id: string) =>
    db().selectFrom('privacy_requests').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const refusals = async (requestId: string) =>
    (
      await db()
        .selectFrom('audit_log')
        .select(['event_type', 'data'])
        .where('request_id', '=', requestId)
        .where('event_type', '=', 'request.refused')
        .execute()
    ).map((e) => (e.data as { reason?: string }).reason);

  it('acts on an API request only when the person taps Confirm, and refuses the same button from anyone else', async () => {
    const [p, other] = [fakePerson(), fakePerson()];
    await knownPerson(t, p);
    await knownPerson(t, other);
    const res = await api(t, key).post('/v1/requests', { type: 'erasure', phone: p.e164 });
    expect(res.statusCode).toBe(202);
    const created = res.json<{ id: string; reference: string; status: string }>();
    expect(created.status).toBe('awaiting_verification');
    expect(await row(created.id)).toMatchObject({
      channel: 'api',
      verification: null,
      status: 'awaiting_verification',
    });

    const buttonId = await confirmButton(graph, p, created.reference);
    expect(buttonId.startsWith('fgconfirm:')).toBe(true);
    expect(sentTo(graph, other)).toHaveLength(0);

    // Someone else replays the button id: refused and audited, nothing happens to anyone.
    await tap(t, other, buttonId);
    expect((await row(created.id)).status).toBe('awaiting_verification');
    expect(await refusals(created.id)).toEqual(['sender_mismatch']);
    expect(await subjectOf(p)).toBeDefined();
    expect(await subjectOf(other)).toBeDefined();

    // The person themself taps it: verified, executed, erased, and told.
    await tap(t, p, buttonId);
    expect(await row(created.id)).toMatchObject({
      status: 'completed',
      verification: 'whatsapp_confirmation',
      subject_id: null,
      identities: null,
    });
    expect(await subjectOf(p)).toBeUndefined();
    expect(await subjectOf(other)).toBeDefined();
    const done = await textMessageTo(graph, p, `${created.reference} is complete`);
    expect(done).toContain('deleted');

    // The button is spent: a replay by the person changes nothing.
    const before = await db()
      .selectFrom('audit_log')
      .select('seq')
      .where('request_id', '=', created.id)
      .execute();
    await tap(t, p, buttonId);
    const after = await db()
      .selectFrom('audit_log')
      .select('seq')
      .where('request_id', '=', created.id)
      .execute();
    expect(after).toHaveLength(before.length);
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });

  it('does the same for a CLI request, and --wait prints the final state once the person confirmed', async () => {
    const p = fakePerson();
    await knownPerson(t, p);
    const running = cli.run('erase', '--phone', p.e164, '--scope', 'messages', '--wait', '--timeout', '60');
    let reference: string | undefined;
    await expect
      .poll(
        async () => {
          const r = await db()
            .selectFrom('privacy_requests')
            .select(['reference', 'channel', 'status'])
            .where('channel', '=', 'cli')
            .where('status', '=', 'awaiting_verification')
            .execute();
          reference = r[0]?.reference;
          return r.length;
        },
        { timeout: 15_000 },
      )
      .toBe(1);
    await tap(t, p, await confirmButton(graph, p, reference!));
    const out = await running;
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const view = JSON.parse(out.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({
      reference,
      type: 'erasure',
      scope: 'messages',
      channel: 'cli',
      status: 'completed',
      verification: 'whatsapp_confirmation',
    });
    // Partial scope: the messages are gone, the person is still known.
    const subjectId = await subjectOf(p);
    expect(subjectId).toBeDefined();
    const left = await db()
      .selectFrom('messages')
      .select('id')
      .where('subject_id', '=', subjectId!)
      .execute();
    expect(left).toHaveLength(0);
    expect(out.stdout).not.toContain(p.waId);
  });

  it('records a request for someone unknown, asks them, and acts on their own tap', async () => {
    const p = fakePerson();
    expect(await subjectOf(p)).toBeUndefined();
    const res = await api(t, key).post('/v1/requests', { type: 'erasure', phone: p.e164 });
    expect(res.statusCode).toBe(202);
    const created = res.json<{ id: string; reference: string; status: string }>();
    expect(await row(created.id)).toMatchObject({ status: 'awaiting_verification', subject_id: null });
    const buttonId = await confirmButton(graph, p, created.reference);
    // Their tap makes them known (the webhook) and confirms the request made about that very number.
    await tap(t, p, buttonId);
    expect(await row(created.id)).toMatchObject({
      status: 'completed',
      verification: 'whatsapp_confirmation',
    });
    expect(await subjectOf(p)).toBeUndefined();
    await textMessageTo(graph, p, `${created.reference} is complete`);
  });
});
