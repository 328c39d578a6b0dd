import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/modules/audit/index.js';
import { startNotifyWorker } from '../../src/modules/dsr/index.js';
import { startFakeGraph, type FakeGraph } from '../helpers/fake-graph.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  contact,
  deletionRequestJson,
  delivery,
  envelope,
  flowReplyMessage,
  messagesValue,
  phoneOf,
  postWebhook,
  snapshotTables,
  textMessage,
  unixNow,
  type Person,
} from '../helpers/webhook-payloads.js';

/** The seed's Flow payload: a Flow without an endpoint completes with this response_json. */
function seedPayload(userId: string, scope = 'all') {
  return deletionRequestJson(userId, { scope });
}

describe.each(storeKinds())("privacy requests from the person's own WhatsApp session on %s", (kind) => {
  let t: TestApp;
  let graph: FakeGraph;
  beforeAll(async () => {
    graph = await startFakeGraph();
    t = await createTestApp(kind, {
      WHATSAPP_GRAPH_URL: graph.url,
      WHATSAPP_ACCESS_TOKEN: 'test-access-token',
    });
    await startNotifyWorker(t.ctx);
  });
  afterAll(async () => {
    await t?.close();
    await graph?.close();
  });

  const db = () => t.ctx.database.db;
  const subjectOf = (p: Person) => t.ctx.subjects.find(db(), 'default', [phoneOf(p)]);
  const requestsOf = (ref?: string) =>
    db()
      .selectFrom('privacy_requests')
      .selectAll()
      .$if(ref !== undefined, (q) => q.where('subject_ref', '=', ref!))
      .orderBy('received_at')
      .execute();

  async function known(p: Person) {
    const res = await postWebhook(
      t,
      delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello there')] }),
    );
    expect(res.statusCode).toBe(200);
    const id = await subjectOf(p);
    expect(id).toBeDefined();
    return id!;
  }

  it('erases the sender at once for the seed payload in a signed Flow completion, and tells them', async () => {
    const p = fakePerson();
    const subjectId = await known(p);
    const before = (await requestsOf()).length;
    const res = await postWebhook(
      t,
      delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, seedPayload(p.waId))] }),
    );
    expect(res.statusCode).toBe(200);
    expect(await subjectOf(p)).toBeUndefined();
    for (const table of ['identities', 'messages', 'flow_responses', 'subject_keys'] as const) {
      const n = await db()
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      expect(Number(n?.n), table).toBe(0);
    }
    const all = await requestsOf();
    expect(all).toHaveLength(before + 1);
    const r = all.at(-1)!;
    expect(r).toMatchObject({
      type: 'erasure',
      scope: 'all',
      channel: 'webhook',
      status: 'completed',
      verification: 'signed_webhook',
      subject_id: null,
      identities: null,
    });
    const tasks = await db().selectFrom('request_tasks').selectAll().where('request_id', '=', r.id).execute();
    expect(tasks).toEqual([
      expect.objectContaining({
        system_id: 'flowguard',
        status: 'done',
        counts: expect.objectContaining({ identities: 1, messages: 2, flow_responses: 1, data_key: 1 }),
      }),
    ]);
    // The confirmation reaches the person through the Graph API with the reference, and nothing of it stays.
    await expect
      .poll(() => graph.sent.filter((m) => m.body.to === p.waId).length, { timeout: 15_000 })
      .toBe(1);
    const msg = graph.sent.find((m) => m.body.to === p.waId)!;
    expect(JSON.stringify(msg.body)).toContain(r.reference);
    await expect
      .poll(
        async () =>
          (
            await db()
              .selectFrom('outbound_notifications')
              .selectAll()
              .where('request_id', '=', r.id)
              .execute()
          ).length,
      )
      .toBe(0);
    // Proof without the data: the request row and its audit events hold no trace of the person.
    const audit = await sql<{
      row: string;
    }>`select row_to_json(a)::text as row from audit_log a where request_id = ${r.id}`.execute(db());
    expect(audit.rows.map((x) => x.row).join()).toContain('erasure.own_store');
    for (const text of [JSON.stringify(r), ...audit.rows.map((x) => x.row)]) {
      expect(text).not.toContain(p.waId);
      expect(text).not.toContain(p.name);
    }
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });

  it('refuses a payload user_id that is not the signed sender, and audits the refusal', async () => {
    const [victim, attacker] = [fakePerson(), fakePerson()];
    const victimId = await known(victim);
    await known(attacker);
    const before = await requestsOf();
    const res = await postWebhook(
      t,
      delivery({
        contacts: [contact(attacker)],
        messages: [flowReplyMessage(attacker, seedPayload(victim.waId))],
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(await subjectOf(victim)).toBe(victimId);
    expect(await subjectOf(attacker)).toBeDefined();
    expect(await requestsOf()).toHaveLength(before.length);
    const refused = await db()
      .selectFrom('audit_log')
      .select(['event_type', 'data'])
      .where('event_type', '=', 'request.refused')
      .execute();
    expect(refused.some((e) => (e.data as { reason?: string }).reason === 'sender_mismatch')).toBe(true);
  });

  it('acts once on a deletion request Meta delivers twice', async () => {
    const p = fakePerson();
    await known(p);
    const body = delivery({
      contacts: [contact(p)],
      messages: [flowReplyMessage(p, seedPayload(`+${p.waId}`, 'messages'))],
    });
    const before = (await requestsOf()).length;
    expect((await postWebhook(t, body)).statusCode).toBe(200);
    const snap = await snapshotTables(t);
    expect((await postWebhook(t, body)).statusCode).toBe(200);
    expect(await requestsOf()).toHaveLength(before + 1);
    const after = await snapshotTables(t);
    expect(after.privacy_requests).toEqual(snap.privacy_requests);
    expect(after.audit_log).toEqual(snap.audit_log);
    // Partial scope: messages are gone, the person and their Flow answers stay.
    const id = await subjectOf(p);
    expect(id).toBeDefined();
    const left = await db().selectFrom('messages').select('id').where('subject_id', '=', id!).execute();
    expect(left).toHaveLength(0);
    const answers = await db()
      .selectFrom('flow_responses')
      .select('id')
      .where('subject_id', '=', id!)
      .execute();
    expect(answers).toHaveLength(1);
  });

  it('turns a STOP keyword and a user_preferences stop into completed opt-out requests', async () => {
    const [a, b] = [fakePerson(), fakePerson()];
    await known(a);
    const bId = await known(b);
    await postWebhook(t, delivery({ contacts: [contact(a)], messages: [textMessage(a, ' stop ')] }));
    await postWebhook(
      t,
      envelope([
        {
          field: 'user_preferences',
          value: messagesValue({
            contacts: [contact(b)],
            user_preferences: [
              {
                wa_id: b.waId,
                detail: 'x',
                category: 'marketing_messages',
                value: 'stop',
                timestamp: Number(unixNow()),
              },
            ],
          }),
        },
      ]),
    );
    const optOuts = (await requestsOf()).filter((r) => r.type === 'opt_out');
    expect(optOuts.map((r) => r.channel).sort()).toEqual(expect.arrayContaining(['keyword', 'preference']));
    expect(optOuts.every((r) => r.status === 'completed' && r.verification === 'signed_webhook')).toBe(true);
    const subject = await db()
      .selectFrom('subjects')
      .select('marketing_opt_out')
      .where('id', '=', bId)
      .executeTakeFirstOrThrow();
    expect(subject.marketing_opt_out).toBe(true);
  });

  it('keeps the STOP after the person is erased', async () => {
    const p = fakePerson();
    await known(p);
    await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'STOP')] }));
    await postWebhook(
      t,
      delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, seedPayload(p.waId))] }),
    );
    expect(await subjectOf(p)).toBeUndefined();
    const suppressed = await db()
      .selectFrom('suppressions')
      .select('reason')
      .where('tenant_id', '=', 'default')
      .execute();
    expect(suppressed.length).toBeGreaterThan(0);
    // They come back: the new subject starts opted out.
    await known(p);
    const again = await db()
      .selectFrom('subjects')
      .select('marketing_opt_out')
      .where('id', '=', (await subjectOf(p))!)
      .executeTakeFirstOrThrow();
    expect(again.marketing_opt_out).toBe(true);
  });

  it('leaves nothing done when the erasure fails at its last step, and completes on redelivery', async () => {
    const p = fakePerson();
    const subjectId = await known(p);
    // Fault injection at the very end of the transaction: the audit event of the completed request.
    await sql
      .raw(
        `
      create or replace function fail_completion() returns trigger language plpgsql as $$
      begin
        if new.event_type = 'request.completed' then raise exception 'injected fault'; end if;
        return new;
      end $$;
      create trigger inject_fault before insert on audit_log for each row execute function fail_completion();
    `,
      )
      .execute(db());
    const body = delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, seedPayload(p.waId))] });
    // Let the notification worker finish earlier tests' messages, so only this delivery could change anything.
    await expect
      .poll(async () => (await db().selectFrom('outbound_notifications').select('id').execute()).length, {
        timeout: 15_000,
      })
      .toBe(0);
    await expect
      .poll(
        async () =>
          Number(
            (
              await sql<{
                n: string;
              }>`select count(*)::text as n from pgboss.job where name = 'notify.send' and state in ('created','retry','active')`.execute(
                db(),
              )
            ).rows[0]?.n,
          ),
        { timeout: 15_000 },
      )
      .toBe(0);
    const before = await snapshotTables(t);
    try {
      const res = await postWebhook(t, body);
      expect(res.statusCode).toBe(500);
      expect(await snapshotTables(t)).toEqual(before);
    } finally {
      await sql.raw('drop trigger inject_fault on audit_log; drop function fail_completion();').execute(db());
    }
    expect(await subjectOf(p)).toBe(subjectId);
    // Meta retries the delivery: this time it goes through, once.
    expect((await postWebhook(t, body)).statusCode).toBe(200);
    expect(await subjectOf(p)).toBeUndefined();
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
  });

  it('keeps nothing new about a person whose processing is restricted', async () => {
    const p = fakePerson();
    const id = await known(p);
    await db().updateTable('subjects').set({ restricted: true }).where('id', '=', id).execute();
    await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'more')] }));
    const msgs = await db().selectFrom('messages').select('id').where('subject_id', '=', id).execute();
    expect(msgs).toHaveLength(1);
  });
});
