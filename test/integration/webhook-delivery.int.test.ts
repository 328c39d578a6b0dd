import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import { storedEventKey } from '../../src/modules/whatsapp/ingest-webhook.js';
import { createTestApp, fakePerson, storeKinds, TEST_APP_SECRET, type TestApp } from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  phoneOf,
  postWebhook,
  textMessage,
} from '../helpers/webhook-payloads.js';
import {
  deletionRequest,
  laterMessage,
  makeCrowd,
  schedule,
  uniqueEvents,
  type Crowd,
  type Delivery,
} from './webhook-delivery.fixtures.js';

/**
 * Meta delivers at least once, in no particular order, and retries for days: a few hundred signed deliveries for
 * a crowd of fake people arrive two or three times each, shuffled, concurrently, some late (statuses before the
 * person's first message, a first message after later ones, everything again after the person's erasure).
 * Every delivery is acknowledged, and the store holds exactly the unique events: none twice, none lost, and
 * nothing of an erased person comes back from a redelivery.
 */
const PEOPLE = 12;
const ERASED = [0, 1, 2, 3];
const SEED = 20_260_302;
const IN_FLIGHT = 12;

describe.each(storeKinds())('duplicated, reordered and delayed webhooks on %s', (kind) => {
  let t: TestApp;
  let crowd: Crowd;
  let post: (body: string) => Promise<number>;
  const delivered: Delivery[] = [];
  const db = () => t.ctx.database.db;

  beforeAll(async () => {
    t = await createTestApp(kind);
    crowd = makeCrowd(PEOPLE);
    const headers = (body: string) => ({
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), TEST_APP_SECRET),
    });
    if (kind === 'postgres') {
      // Real HTTP: concurrent connections into the listening server.
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/webhooks/whatsapp`;
      post = async (body) => {
        const res = await fetch(url, { method: 'POST', headers: headers(body), body });
        await res.arrayBuffer();
        return res.status;
      };
    } else {
      post = async (body) =>
        (
          await t.app.inject({
            method: 'POST',
            url: '/webhooks/whatsapp',
            headers: headers(body),
            payload: body,
          })
        ).statusCode;
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Deliver in schedule order with IN_FLIGHT requests at a time; returns every status code. */
  async function deliver(plan: Delivery[]): Promise<number[]> {
    const codes: number[] = new Array(plan.length);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < plan.length; i = next++) codes[i] = await post(plan[i]!.body);
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    delivered.push(...plan);
    return codes;
  }

  const count = async (table: string) =>
    Number(
      (await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db())).rows[0]!
        .n,
    );
  const subjectOf = (i: number) => {
    const p = crowd.people[i]!;
    return t.ctx.subjects.find(db(), 'default', p.bsuidToo ? [phoneOf(p), bsuidOf(p)] : [phoneOf(p)]);
  };
  const stored = (key: string) => storedEventKey(t.ctx, 'default', key);

  /** Per table, what the unique events delivered so far must have left (erased people hold nothing). */
  async function expectExactly(erased: number[]) {
    const events = [...uniqueEvents(delivered).values()];
    const kept = (i: number) => !erased.includes(i);
    const of = (kinds: string[]) => events.filter((e) => kinds.includes(e.kind) && kept(e.person)).length;
    const keptPeople = crowd.people.filter((_, i) => kept(i));
    expect({
      subjects: await count('subjects'),
      identities: await count('identities'),
      messages: await count('messages'),
      flow_responses: await count('flow_responses'),
      processed_events: await count('processed_events'),
      erasure_requests: await count('privacy_requests'),
    }).toEqual({
      subjects: keptPeople.length,
      identities: keptPeople.reduce((n, p) => n + (p.bsuidToo ? 2 : 1), 0),
      messages: of(['message', 'flow']),
      flow_responses: of(['flow']),
      // Every event is claimed once, erased people's too: that is what keeps a redelivery from bringing them back.
      processed_events: events.length,
      erasure_requests: events.filter((e) => e.kind === 'deletion').length,
    });
    const claimed = await db().selectFrom('processed_events').select('event_key').execute();
    expect(new Set(claimed.map((r) => r.event_key))).toEqual(new Set(events.map((e) => stored(e.key))));

    // Person by person: their own messages, Flow responses and identities, once each.
    for (const [i, p] of crowd.people.entries()) {
      const subjectId = await subjectOf(i);
      if (!kept(i)) {
        expect(subjectId, `person ${i} was erased`).toBeUndefined();
        continue;
      }
      expect(subjectId, `person ${i}`).toBeDefined();
      const mine = events.filter((e) => e.person === i);
      const rows = async (table: 'messages' | 'flow_responses' | 'identities') =>
        (await db().selectFrom(table).select('id').where('subject_id', '=', subjectId!).execute()).length;
      expect({
        person: i,
        messages: await rows('messages'),
        flow: await rows('flow_responses'),
        ids: await rows('identities'),
      }).toEqual({
        person: i,
        messages: mine.filter((e) => e.kind === 'message' || e.kind === 'flow').length,
        flow: mine.filter((e) => e.kind === 'flow').length,
        ids: p.bsuidToo ? 2 : 1,
      });
    }

    // Statuses: each once. One that came before anything the person wrote stays unlinked (a status never creates
    // anyone), so it outlives that person's erasure; every status linked to an erased person is gone with them.
    const statuses = await db().selectFrom('message_statuses').select(['event_key', 'subject_id']).execute();
    const byKey = new Map(statuses.map((s) => [s.event_key, s.subject_id]));
    expect(byKey.size).toBe(statuses.length);
    const statusEvents = events.filter((e) => e.kind === 'status');
    for (const e of statusEvents) {
      const k = stored(e.key);
      if (kept(e.person)) expect(byKey.has(k), e.key).toBe(true);
      else if (byKey.has(k)) expect(byKey.get(k), e.key).toBeNull();
    }
    const known = new Set(statusEvents.map((e) => stored(e.key)));
    expect(statuses.every((s) => known.has(s.event_key))).toBe(true);
  }

  it('stores each unique event exactly once, whatever the copies, order and concurrency', async () => {
    const plan = schedule(crowd.history, SEED, {
      // Statuses of the business's messages to the first half lead: they arrive before anything those people
      // wrote. The first messages of the second half trail: they arrive after the later ones.
      statusesFirst: (d) => d.statusOnly && d.person < PEOPLE / 2,
      heldBack: (d) => d.earliest && d.person >= PEOPLE / 2,
    });
    expect(plan.length).toBeGreaterThanOrEqual(2 * crowd.history.length);
    const codes = await deliver(plan);
    expect(codes.filter((c) => c !== 200)).toEqual([]);
    await expectExactly([]);
  });

  it('erases people on their own request while others keep writing, and redeliveries never bring them back', async () => {
    const requests = ERASED.map((i) => deletionRequest(crowd, i));
    const others = crowd.people.map((_, i) => i).filter((i) => !ERASED.includes(i));
    const codes = await deliver(
      schedule([...requests, ...others.map((i) => laterMessage(crowd, i))], SEED + 10),
    );
    expect(codes.filter((c) => c !== 200)).toEqual([]);
    const erasures = await db()
      .selectFrom('privacy_requests')
      .select(['type', 'status', 'channel'])
      .execute();
    expect(erasures).toEqual(
      ERASED.map(() => ({ type: 'erasure', status: 'completed', channel: 'webhook' })),
    );
    await expectExactly(ERASED);
    const statusesAfterErasure = await count('message_statuses');

    // Everything the erased people ever sent comes again (Meta retries for days), shuffled, with copies.
    const again = [...crowd.history.filter((d) => ERASED.includes(d.person)), ...requests];
    const replayed = await deliver(schedule(again, SEED + 20));
    expect(replayed.filter((c) => c !== 200)).toEqual([]);
    await expectExactly(ERASED);
    expect(await count('message_statuses')).toBe(statusesAfterErasure);
    expect(await count('privacy_requests')).toBe(ERASED.length);
  });

  it('creates nobody from a contact card alone, and a card redelivered after an erasure brings no one back', async () => {
    const p = { ...fakePerson(), bsuidToo: false };
    const card = JSON.stringify(delivery({ contacts: [contact(p)] }));
    const found = () => t.ctx.subjects.find(db(), 'default', [phoneOf(p)]);
    const before = await count('identities');
    const alone = await postWebhook(t, card);
    expect(alone.statusCode).toBe(200);
    expect(alone.json()).toMatchObject({ events: { ingested: 0, ignored: 1 } });
    expect(await found()).toBeUndefined();
    expect(await count('identities')).toBe(before);

    // Known: the card refreshes the person. Erased: the same card again creates nothing.
    await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello')] }));
    expect(await found()).toBeDefined();
    expect((await postWebhook(t, card)).json()).toMatchObject({ events: { ingested: 1 } });
    const crowdOfOne: Crowd = { people: [p], history: [] };
    expect((await postWebhook(t, deletionRequest(crowdOfOne, 0).body)).statusCode).toBe(200);
    expect(await found()).toBeUndefined();
    const again = await postWebhook(t, card);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ events: { ingested: 0, ignored: 1 } });
    expect(await found()).toBeUndefined();
    expect(await count('identities')).toBe(before);
  });
});
