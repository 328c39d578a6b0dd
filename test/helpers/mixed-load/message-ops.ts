import crypto from 'node:crypto';
import { contact, delivery, textMessage, type Json, type Person } from '../webhook-payloads.js';
import { describeAnswer, type LoadClient } from './load-client.js';
import type { LoadStats } from './load-stats.js';
import type { BusinessSystems } from './business-systems.js';
import type { LoadPerson } from './population.js';

/** The webhook part of the mixed load: people writing in, Meta delivering again, a forged delivery. */

export interface OpDeps {
  client: LoadClient;
  stats: LoadStats;
  systems: BusinessSystems;
}

const TEXTS = [
  'Hi, is there a slot on Tuesday?',
  'Could I move my booking to 10:30?',
  'Thanks, see you then.',
  'What are your opening hours?',
  'Is parking available nearby?',
];

interface WebhookAnswer {
  status?: string;
  events?: { ingested?: number; duplicate?: number; rejected?: number; ignored?: number };
}

function parse(text: string): WebhookAnswer {
  try {
    return JSON.parse(text) as WebhookAnswer;
  } catch {
    return {};
  }
}

/**
 * A new person first writes in: the business's bot has stored them in its own systems, then their delivery
 * (contact card and 1-3 messages) arrives.
 */
export async function firstContact(d: OpDeps, lp: LoadPerson): Promise<void> {
  await d.systems.seed(lp.person);
  await writeIn(d, lp);
}

/** One delivery of 1-3 text messages with the contact card; acknowledged messages join the person's ledger. */
export async function writeIn(d: OpDeps, lp: LoadPerson): Promise<void> {
  const n = 1 + crypto.randomInt(0, 3);
  const ids = Array.from(
    { length: n },
    () => `wamid.HBgL${lp.person.waId}FQIAEhgU${crypto.randomBytes(10).toString('hex').toUpperCase()}`,
  );
  const messages = ids.map((id) => textMessage(lp.person, TEXTS[crypto.randomInt(0, TEXTS.length)]!, { id }));
  const body = JSON.stringify(delivery({ contacts: [contact(lp.person)], messages: messages as Json[] }));
  const res = await d.client.webhook('webhook', body);
  const events = parse(res.text).events;
  // The contact card counts as ingested together with its person's new messages.
  if (res.status !== 200 || events?.ingested !== n + 1 || events.rejected !== 0) {
    d.stats.error('webhook', describeAnswer(res));
    return;
  }
  for (const id of ids) lp.acked.add(id);
  lp.lastDelivery = { body, events: n + 1 };
}

/** Meta delivers an acknowledged delivery again (it retries on timeouts): nothing new may be stored. */
export async function deliverAgain(d: OpDeps, lp: LoadPerson): Promise<void> {
  const last = lp.lastDelivery;
  if (!last) return;
  const res = await d.client.webhook('webhook.redelivery', last.body);
  const events = parse(res.text).events;
  if (res.status !== 200 || events?.ingested !== 0 || events.duplicate !== last.events) {
    d.stats.error('webhook.redelivery', describeAnswer(res));
  }
}

/** A delivery signed with the wrong secret: refused with 401, and nothing of the person it names is stored. */
export async function forgedDelivery(d: OpDeps, stranger: Person): Promise<void> {
  const body = JSON.stringify(
    delivery({ contacts: [contact(stranger)], messages: [textMessage(stranger, TEXTS[0]!)] as Json[] }),
  );
  const res = await d.client.webhook('refused.bad-signature', body, 'not-the-app-secret-0123456789');
  if (res.status === 401) d.stats.refused('bad-signature (401)');
  else d.stats.error('refused.bad-signature', `expected 401, got ${describeAnswer(res)}`);
}
