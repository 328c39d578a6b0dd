import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedEventKey } from '../../src/modules/whatsapp/ingest-webhook.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  deletionRequestJson,
  flowReplyMessage,
  phoneOf,
  postWebhook,
  statusItem,
  textMessage,
  type Json,
  type Person,
} from '../helpers/webhook-payloads.js';

/**
 * Group commit: deliveries arriving while others are being written are written together, in one transaction.
 * Batching must not change what is stored: each person is one subject with one key whatever their deliveries
 * look like (the same identities twice, overlapping ones, a status for them in the same batch), and a delivery
 * that fails fails alone, without losing the deliveries it was batched with.
 */
describe.each(storeKinds())('webhook deliveries written together on %s', (kind) => {
  let t: TestApp;
  let tenantId: string;
  const db = () => t.ctx.database.db;

  beforeAll(async () => {
    t = await createTestApp(kind);
    tenantId = (await t.ctx.tenants.getDefault()).id;
  });
  afterAll(async () => {
    await t?.close();
  });

  const batches = async () => {
    const metric = await t.ctx.metrics.webhookBatchDeliveries.get();
    const count = metric.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const sum = metric.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    return { count, sum };
  };
  const splits = async () => (await t.ctx.metrics.webhookBatchSplits.get()).values[0]?.value ?? 0;
  const countRows = async (table: 'subjects' | 'messages' | 'identities') =>
    Number(
      (await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db())).rows[0]!
        .n,
    );
  const subjectOf = (p: Person, by: 'phone' | 'bsuid' = 'phone') =>
    t.ctx.subjects.find(db(), tenantId, [by === 'phone' ? phoneOf(p) : bsuidOf(p)]);
  const send = (bodies: Json[]) => Promise.all(bodies.map((b) => postWebhook(t, b)));

  it('stores every person once, with one key, whatever mix of deliveries arrives at once', async () => {
    const before = await batches();
    const [subjects0, keys0] = [await countRows('subjects'), await t.ctx.keyStore.count()];
    const people = Array.from({ length: 40 }, (_, i) => fakePerson(10 + i));
    const bodies: Json[] = [];
    people.forEach((p, i) => {
      bodies.push(delivery({ contacts: [contact(p)], messages: [textMessage(p, 'Hello')] }));
      // The same person twice, with the same identities: one subject.
      if (i % 4 === 1) bodies.push(delivery({ contacts: [contact(p)], messages: [textMessage(p, 'Again')] }));
      // Then with their BSUID as well (overlapping identities): still one subject, holding both.
      if (i % 4 === 2) {
        bodies.push(
          delivery({
            contacts: [contact(p, { phone: true, bsuid: true })],
            messages: [textMessage(p, 'With my user id', { bsuid: true })],
          }),
        );
      }
      // A status for them in the same batch: looked up, never creating anyone.
      if (i % 4 === 3) bodies.push(delivery({ statuses: [statusItem(p, 'delivered')] }));
    });
    const messages = bodies.filter((b) => JSON.stringify(b).includes('"text"')).length;
    const replies = await send(bodies);
    expect(replies.map((r) => r.statusCode)).toEqual(bodies.map(() => 200));

    const after = await batches();
    // Written in fewer transactions than deliveries: batching took place.
    expect(after.sum - before.sum).toBe(bodies.length);
    expect(after.count - before.count).toBeLessThan(bodies.length);

    expect((await countRows('subjects')) - subjects0).toBe(people.length);
    expect((await t.ctx.keyStore.count()) - keys0).toBe(people.length);
    expect(await countRows('messages')).toBeGreaterThanOrEqual(messages);
    const ids = await Promise.all(people.map((p) => subjectOf(p)));
    expect(new Set(ids).size).toBe(people.length);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    for (const [i, p] of people.entries()) {
      if (i % 4 === 2) expect(await subjectOf(p, 'bsuid')).toBe(ids[i]);
      const perPerson = await db()
        .selectFrom('messages')
        .select(sql<string>`count(*)::text`.as('n'))
        .where('subject_id', '=', ids[i]!)
        .executeTakeFirstOrThrow();
      expect(Number(perPerson.n)).toBe(i % 4 === 1 || i % 4 === 2 ? 2 : 1);
    }
    // Each subject's profile name is readable with its own key.
    for (const [i, p] of people.entries()) {
      const cipher = await t.ctx.subjectKeys.cipher(db(), ids[i]!);
      const row = await db()
        .selectFrom('subjects')
        .select('profile_name')
        .where('id', '=', ids[i]!)
        .executeTakeFirstOrThrow();
      expect(cipher!.decrypt(row.profile_name!, 'subjects', 'profile_name', ids[i]!)).toBe(p.name);
    }
    // Statuses in the batch were linked to the person their delivery named.
    const linked = await db()
      .selectFrom('message_statuses')
      .select('subject_id')
      .where('tenant_id', '=', tenantId)
      .execute();
    expect(linked.length).toBe(people.filter((_, i) => i % 4 === 3).length);
  });

  it('resolves a sender again after a message that erased them, within one delivery', async () => {
    const p = fakePerson(91);
    // Known by both ids.
    const first = await postWebhook(
      t,
      delivery({
        contacts: [contact(p, { phone: true, bsuid: true })],
        messages: [textMessage(p, 'Hello', { bsuid: true })],
      }),
    );
    expect(first.statusCode).toBe(200);
    const before = await subjectOf(p);
    expect(before).toBeDefined();
    expect(await subjectOf(p, 'bsuid')).toBe(before);
    // One delivery: an erasure request from the phone number, then a plain message under the BSUID only (the
    // same person, told apart by no identity the two share).
    const erasure = deletionRequestJson(p.waId);
    const res = await postWebhook(
      t,
      delivery({
        contacts: [contact(p)],
        messages: [flowReplyMessage(p, erasure), textMessage(p, 'Still here', { phone: false, bsuid: true })],
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ events: { ingested: 3 } });
    // Erased; the message after it starts a new subject under the BSUID, as one event after the other would.
    expect(await subjectOf(p)).toBeUndefined();
    const after = await subjectOf(p, 'bsuid');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    const rows = await db()
      .selectFrom('messages')
      .select('subject_id')
      .where('subject_id', '=', after!)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('answers 500 for a delivery that fails and keeps every delivery batched with it', async () => {
    const people = Array.from({ length: 30 }, (_, i) => fakePerson(50 + i));
    const poison = fakePerson(90);
    const poisonMessage = textMessage(poison, 'This one fails');
    const poisonKey = storedEventKey(t.ctx, tenantId, `msg:${poisonMessage.id}`);
    // A database fault for that one message only (a stand-in for any failure of one delivery).
    await sql`create function fail_poison() returns trigger language plpgsql as $$
      begin raise exception 'injected failure'; end $$`.execute(db());
    await sql`create trigger fail_poison before insert on messages for each row
      when (new.event_key = ${sql.lit(poisonKey)}) execute function fail_poison()`.execute(db());
    try {
      const splits0 = await splits();
      const subjects0 = await countRows('subjects');
      const bodies = people.map((p) =>
        delivery({ contacts: [contact(p)], messages: [textMessage(p, 'Hi')] }),
      );
      bodies.splice(15, 0, delivery({ contacts: [contact(poison)], messages: [poisonMessage] }));
      const codes = (await send(bodies)).map((r) => r.statusCode);
      expect(codes[15]).toBe(500);
      expect(codes.filter((c) => c === 200)).toHaveLength(people.length);
      expect(await splits()).toBeGreaterThan(splits0);
      expect((await countRows('subjects')) - subjects0).toBe(people.length);
      expect(await subjectOf(poison)).toBeUndefined();
      for (const p of people) expect(await subjectOf(p)).toBeDefined();
      // The log says a batch was split, and names no one.
      const lines = t.logs.lines.filter((l) => l.includes('webhook batch failed'));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        expect(line).not.toContain(poison.waId);
        expect(line).not.toContain(poison.name);
      }
    } finally {
      await sql`drop trigger fail_poison on messages`.execute(db());
      await sql`drop function fail_poison()`.execute(db());
    }
    // Meta delivers the failed one again: now it is stored.
    const again = await postWebhook(t, delivery({ contacts: [contact(poison)], messages: [poisonMessage] }));
    expect(again.statusCode).toBe(200);
    expect(await subjectOf(poison)).toBeDefined();
  });
});
