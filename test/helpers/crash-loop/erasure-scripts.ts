import crypto from 'node:crypto';
import { buttonReply, textOf } from '../../integration/requests.fixtures.js';
import type { FakeGraph } from '../fake-graph.js';
import {
  contact,
  delivery,
  flowReplyMessage,
  imageMessage,
  textMessage,
  type Person,
} from '../webhook-payloads.js';
import type { RetryingClient } from './retrying-client.js';

/**
 * What one fake person does, through flowguard's public interfaces only: they write to the business (a signed
 * webhook with a text, a Flow answer and a photo, so flowguard holds an identity pair, messages, a flow response
 * and a media reference), then ask for erasure by one of three channels:
 * - `flow`: the business issues a flow token (API), the person submits the Privacy Center's CONFIRM_DELETE screen;
 * - `webhook`: a Flow without an endpoint completes with the seed's `data_deletion_request` payload;
 * - `api`: the business enters the request (API), the person confirms it with the button flowguard sends them.
 * Every call is retried until it is answered (retrying-client.ts), as its real sender would.
 */

export type Channel = 'flow' | 'webhook' | 'api';
export const CHANNELS: Channel[] = ['flow', 'webhook', 'api'];

export interface Erasure {
  person: Person;
  channel: Channel;
  /** The id flowguard answered with (flow, api); undefined for a webhook, or when the answer was lost. */
  requestId?: string;
  /** The request was accepted (a 2xx) or, after a lost answer, the retry found it already carried out. */
  accepted: boolean;
  /** The first attempt to introduce the person was sent. */
  started: boolean;
  /** When the person's first messages were acknowledged. */
  knownAt?: number;
  /** When the call that erases them from the own store (submit, webhook, tap) was first sent. */
  eraseSentAt?: number;
  /** When the client learnt that the own-store erasure was carried out (that call's acknowledgement). */
  erasedAt?: number;
  /** Learnt whenever the person is seen present in the own store. */
  subjectId?: string;
}

/** The seed's Flow (no endpoint) completes with this token in its response_json. */
const SEED_FLOW_TOKEN = 'compliance_prod_001';

function expect2xx(what: string, a: { status: number; text: string }): void {
  if (a.status < 200 || a.status > 299)
    throw new Error(`${what}: unexpected ${a.status} ${a.text.slice(0, 200)}`);
}

export async function introduce(client: RetryingClient, e: Erasure): Promise<void> {
  const p = e.person;
  e.started = true;
  const body = JSON.stringify(
    delivery({
      contacts: [contact(p, { phone: true, bsuid: true })],
      messages: [
        textMessage(p, 'hello, I would like a quote', { bsuid: true }),
        flowReplyMessage(p, JSON.stringify({ budget: '300k', flow_token: 'lead_form_001' })),
        imageMessage(p, { id: `${crypto.randomInt(1e9, 9e9)}` }),
      ],
    }),
  );
  expect2xx('first messages', await client.webhook(body));
  e.knownAt = Date.now();
}

export async function requestErasure(client: RetryingClient, graph: FakeGraph, e: Erasure): Promise<void> {
  if (e.channel === 'webhook') return viaCompletionWebhook(client, e);
  if (e.channel === 'flow') return viaPrivacyCenter(client, e);
  return viaApiAndConfirmation(client, graph, e);
}

async function viaCompletionWebhook(client: RetryingClient, e: Erasure): Promise<void> {
  const p = e.person;
  const payload = {
    action: 'data_deletion_request',
    user_id: p.waId,
    scope: 'all',
    flow_token: SEED_FLOW_TOKEN,
    timestamp: Math.floor(Date.now() / 1000),
  };
  // The same delivery again after a lost answer, as Meta retries: flowguard must not act on it twice.
  const body = JSON.stringify(
    delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, JSON.stringify(payload))] }),
  );
  e.eraseSentAt ??= Date.now();
  expect2xx('erasure webhook', await client.webhook(body));
  e.accepted = true;
  e.erasedAt = Date.now();
}

async function viaPrivacyCenter(client: RetryingClient, e: Erasure): Promise<void> {
  for (;;) {
    const issued = await client.api('POST', '/v1/flow-tokens', { phone: e.person.e164 });
    expect2xx('flow token', issued);
    const { flow_token } = JSON.parse(issued.text) as { flow_token: string };
    const submit = {
      action: 'data_exchange',
      screen: 'CONFIRM_DELETE',
      flow_token,
      data: { request: 'erasure', scope: 'all', confirmed: true },
    };
    e.eraseSentAt ??= Date.now();
    const res = await client.flow(submit);
    const params = (
      res.answer?.data as { extension_message_response?: { params?: { request_id?: string } } } | undefined
    )?.extension_message_response?.params;
    if (res.status === 200 && params?.request_id) {
      e.requestId = params.request_id;
      e.accepted = true;
      e.erasedAt = Date.now();
      return;
    }
    // The token was claimed by an attempt whose answer was lost: that attempt's request was committed with it
    // (the claim and the request are one transaction), and the person is gone with their tokens.
    if (
      res.maybeDone &&
      (res.status === 427 || JSON.stringify(res.answer ?? {}).includes('already been used'))
    ) {
      e.accepted = true;
      e.erasedAt = Date.now();
      return;
    }
    // A snackbar for a failure inside the handler (the store went away mid-call): the person submits again.
    if (res.status === 200 && JSON.stringify(res.answer ?? {}).includes('Something went wrong')) continue;
    throw new Error(
      `privacy center erasure: unexpected ${res.status} ${JSON.stringify(res.answer ?? res.text)}`,
    );
  }
}

async function viaApiAndConfirmation(client: RetryingClient, graph: FakeGraph, e: Erasure): Promise<void> {
  const p = e.person;
  // Sent again after a lost answer, it joins the open request and answers with the same id.
  const created = await client.api('POST', '/v1/requests', { type: 'erasure', phone: p.e164 });
  expect2xx('API request', created);
  const { id, reference } = JSON.parse(created.text) as { id: string; reference: string };
  e.requestId = id;
  e.accepted = true;
  const button = await confirmationButton(graph, p, reference, client.deadline);
  // The person's tap, delivered again by Meta until acknowledged.
  const body = JSON.stringify(delivery({ contacts: [contact(p)], messages: [buttonReply(p, button)] }));
  e.eraseSentAt ??= Date.now();
  expect2xx('confirmation tap', await client.webhook(body));
  e.erasedAt = Date.now();
}

/** The confirm button flowguard's notification worker sent the person for this request (it may be sent twice). */
async function confirmationButton(
  graph: FakeGraph,
  p: Person,
  reference: string,
  deadline: number,
): Promise<string> {
  for (;;) {
    if (Date.now() > deadline)
      throw new Error(`no confirmation message for ${reference} before the deadline`);
    for (const m of graph.sent) {
      if (m.body.to !== p.waId || m.body.type !== 'interactive' || !textOf(m).includes(reference)) continue;
      const buttons = (m.body.interactive as { action?: { buttons?: { reply: { id: string } }[] } }).action
        ?.buttons;
      const id = buttons?.[0]?.reply.id;
      if (id) return id;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
