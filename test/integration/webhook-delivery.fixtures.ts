import crypto from 'node:crypto';
import fc from 'fast-check';
import { fakePerson } from '../helpers/test-app.js';
import {
  contact,
  delivery,
  flowReplyMessage,
  statusItem,
  textMessage,
  unixNow,
  wamidFor,
  type Json,
  type Person,
} from '../helpers/webhook-payloads.js';

/**
 * The traffic of webhook-delivery.int.test.ts: signed-webhook bodies for a crowd of fake people (text messages,
 * Flow completions, statuses of the business's messages to them, contact cards with every message and once
 * alone), each remembered with the unique events it carries, so the store can be checked against the set of unique events.
 * Schedules are fast-check samples from a fixed seed: the same run every time.
 */

export type EventKind = 'message' | 'flow' | 'status' | 'deletion';

export interface UniqueEvent {
  /** The raw de-duplication key flowguard derives (msg:<wamid>, status:<wamid>:<status>). */
  key: string;
  kind: EventKind;
  person: number;
}

export interface Delivery {
  body: string;
  person: number;
  events: UniqueEvent[];
  /** A Meta delivery of statuses only (it may arrive before anything the person wrote). */
  statusOnly: boolean;
  /** The person's first message: held back so that a later one arrives first. */
  earliest: boolean;
}

export interface Crowd {
  people: (Person & { bsuidToo: boolean })[];
  /** Everything each person did before anyone asks for erasure. */
  history: Delivery[];
}

const TEXTS = 3;
const STATUSES = ['sent', 'delivered', 'read'] as const;

function deliveryOf(
  person: number,
  body: Json,
  events: UniqueEvent[],
  flags: Partial<Pick<Delivery, 'statusOnly' | 'earliest'>> = {},
): Delivery {
  return {
    body: JSON.stringify(body),
    person,
    events,
    statusOnly: flags.statusOnly ?? false,
    earliest: flags.earliest ?? false,
  };
}

/** Messages are dated an hour back, a minute apart, in the order the person wrote them. */
function at(message: Json, minute: number): Json {
  return { ...(message as Record<string, Json>), timestamp: unixNow(-3600 + minute * 60) };
}

export function makeCrowd(size: number): Crowd {
  const people = Array.from({ length: size }, (_, i) => ({ ...fakePerson(10 + i), bsuidToo: i % 3 === 0 }));
  const history: Delivery[] = [];
  people.forEach((p, i) => {
    const ids = { phone: true, bsuid: p.bsuidToo };
    const card = [contact(p, ids)];
    const texts = Array.from({ length: TEXTS }, (_, j) =>
      at(textMessage(p, `message ${j}`, { bsuid: p.bsuidToo }), j),
    );
    const key = (m: Json) => `msg:${(m as { id: string }).id}`;
    texts.forEach((m, j) =>
      history.push(
        deliveryOf(
          i,
          delivery({ contacts: card, messages: [m] }),
          [{ key: key(m), kind: 'message', person: i }],
          {
            earliest: j === 0,
          },
        ),
      ),
    );
    // A contact card alone (no event to de-duplicate by): it may come before the person's first message.
    history.push(deliveryOf(i, delivery({ contacts: card }), []));
    // Meta batched the last two messages once more in one delivery: events repeat across deliveries.
    history.push(
      deliveryOf(
        i,
        delivery({ contacts: card, messages: texts.slice(-2) }),
        texts.slice(-2).map((m) => ({ key: key(m), kind: 'message', person: i })),
      ),
    );
    const booking = at(
      flowReplyMessage(
        p,
        JSON.stringify({ flow_token: crypto.randomBytes(6).toString('hex'), slot: 'tuesday' }),
      ),
      TEXTS,
    );
    history.push(
      deliveryOf(i, delivery({ contacts: card, messages: [booking] }), [
        { key: key(booking), kind: 'flow', person: i },
      ]),
    );
    // The business wrote to the person: the statuses of that message, the first two one delivery each, and the
    // last two batched once more.
    const outbound = wamidFor(p);
    const statuses = STATUSES.map((s) => statusItem(p, s, { id: outbound }));
    const statusEvents = STATUSES.map((s) => ({
      key: `status:${outbound}:${s}`,
      kind: 'status' as const,
      person: i,
    }));
    for (const j of [0, 1]) {
      history.push(
        deliveryOf(i, delivery({ statuses: [statuses[j]!] }), [statusEvents[j]!], { statusOnly: true }),
      );
    }
    history.push(
      deliveryOf(i, delivery({ statuses: statuses.slice(1) }), statusEvents.slice(1), { statusOnly: true }),
    );
  });
  return { people, history };
}

/** The person asks for erasure from a Flow without an endpoint (the seed's payload), signed by Meta. */
export function deletionRequest(crowd: Crowd, person: number): Delivery {
  const p = crowd.people[person]!;
  const m = flowReplyMessage(
    p,
    JSON.stringify({ action: 'data_deletion_request', scope: 'all', flow_token: 'x', user_id: p.waId }),
  );
  return deliveryOf(
    person,
    delivery({ contacts: [contact(p, { phone: true, bsuid: p.bsuidToo })], messages: [m] }),
    [{ key: `msg:${m.id}`, kind: 'deletion', person }],
  );
}

/** One more message from the person (after the erasures of others). */
export function laterMessage(crowd: Crowd, person: number): Delivery {
  const p = crowd.people[person]!;
  const m = textMessage(p, 'one more thing', { bsuid: p.bsuidToo });
  return deliveryOf(
    person,
    delivery({ contacts: [contact(p, { phone: true, bsuid: p.bsuidToo })], messages: [m] }),
    [{ key: `msg:${m.id}`, kind: 'message', person }],
  );
}

/**
 * A delivery schedule: every delivery 2-3 times, shuffled; `statusesFirst` deliveries (a copy of each) lead
 * and `heldBack` ones (a copy of each) trail, so some statuses come before the person's first message and some
 * first messages after later ones.
 */
export function schedule(
  deliveries: Delivery[],
  seed: number,
  opts: { statusesFirst?: (d: Delivery) => boolean; heldBack?: (d: Delivery) => boolean } = {},
): Delivery[] {
  const copies = fc.sample(
    fc.array(fc.integer({ min: 2, max: 3 }), { minLength: deliveries.length, maxLength: deliveries.length }),
    {
      seed,
      numRuns: 1,
    },
  )[0]!;
  const lead = deliveries.filter((d) => opts.statusesFirst?.(d));
  const trail = deliveries.filter((d) => opts.heldBack?.(d));
  const middle = deliveries.flatMap((d, i) => {
    const n = copies[i]! - (lead.includes(d) || trail.includes(d) ? 1 : 0);
    return Array.from({ length: n }, () => d);
  });
  const shuffle = <T>(xs: T[], s: number): T[] =>
    xs.length === 0
      ? xs
      : fc.sample(fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length }), {
          seed: s,
          numRuns: 1,
        })[0]!;
  return [...shuffle(lead, seed + 1), ...shuffle(middle, seed + 2), ...shuffle(trail, seed + 3)];
}

/** The unique events among deliveries, by key. */
export function uniqueEvents(deliveries: Delivery[]): Map<string, UniqueEvent> {
  return new Map(deliveries.flatMap((d) => d.events.map((e) => [e.key, e] as const)));
}
