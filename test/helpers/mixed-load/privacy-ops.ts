import crypto from 'node:crypto';
import type { FakeGraph } from '../fake-graph.js';
import { contact, delivery, type Json } from '../webhook-payloads.js';
import { BusinessSystems } from './business-systems.js';
import { describeAnswer, type FlowAnswer } from './load-client.js';
import type { OpDeps } from './message-ops.js';
import type { LoadPerson } from './population.js';

/**
 * The privacy part of the mixed load, through the public interfaces only: the Privacy Center Flow on the
 * encrypted Flows endpoint (home screen, "See my data", "Delete my data"), erasures entered through the API and
 * confirmed by the person's button tap, access exports through the API. Each step checks what flowguard shows
 * against what it acknowledged to this person.
 */

export interface PrivacyDeps extends OpDeps {
  graph: FakeGraph;
}

type Data = Record<string, unknown>;
const dataOf = (a: FlowAnswer): Data => (a.answer?.data ?? {}) as Data;

function isScreen(a: FlowAnswer, screen: string): boolean {
  return a.status === 200 && a.answer?.screen === screen && dataOf(a).error_message === undefined;
}

async function flowToken(d: OpDeps, lp: LoadPerson): Promise<string | undefined> {
  const res = await d.client.api('api.flow-token', 'POST', '/v1/flow-tokens', { phone: lp.person.e164 });
  const token = res.status === 201 ? (JSON.parse(res.text) as { flow_token?: string }).flow_token : undefined;
  if (!token) d.stats.error('api.flow-token', describeAnswer(res));
  return token;
}

/** The health check Meta sends, then PRIVACY_HOME, whose message count must be exactly what was acknowledged. */
async function openHome(d: OpDeps, lp: LoadPerson, token: string): Promise<boolean> {
  const ping = await d.client.flow('flows.ping', { action: 'ping' });
  if (ping.status !== 200 || dataOf(ping).status !== 'active') {
    d.stats.error('flows.ping', describeAnswer(ping));
    return false;
  }
  const home = await d.client.flow('flows.init', { action: 'INIT', flow_token: token, data: {} });
  if (!isScreen(home, 'PRIVACY_HOME')) {
    d.stats.error('flows.init', `${describeAnswer(home)} ${JSON.stringify(home.answer ?? {}).slice(0, 200)}`);
    return false;
  }
  const held = dataOf(home).messages;
  if (held !== lp.acked.size) {
    d.stats.lost('messages', `PRIVACY_HOME shows ${String(held)} messages, ${lp.acked.size} acknowledged`);
    return false;
  }
  return true;
}

/** Poll the request through the API until it completes (a failed or stuck request is reported). */
async function untilCompleted(d: OpDeps, requestId: string, what: string): Promise<boolean> {
  const deadline = Date.now() + 120_000;
  let status = '';
  while (Date.now() < deadline) {
    const res = await d.client.api('api.request-status', 'GET', `/v1/requests/${requestId}`);
    if (res.status !== 200) {
      d.stats.error('api.request-status', describeAnswer(res));
      return false;
    }
    status = (JSON.parse(res.text) as { status?: string }).status ?? '';
    if (status === 'completed') return true;
    if (status === 'failed' || status === 'denied') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  d.stats.lost(what, `request ${requestId} ended ${status || 'nowhere'} instead of completed`);
  return false;
}

interface Bundle {
  categories?: { id: string; records: unknown[] }[];
  systems?: { system_id: string; records: unknown[] }[];
}

/**
 * A person opens the Privacy Center (token, ping, INIT); with `access` they choose "See my data", and the
 * business downloads the export once the request completes: every acknowledged message, and the person's
 * rows, key and field from the business's systems.
 */
export async function visitPrivacyCenter(d: OpDeps, lp: LoadPerson, access: boolean): Promise<void> {
  const token = await flowToken(d, lp);
  if (!token || !(await openHome(d, lp, token)) || !access) return;
  const myData = await d.client.flow('flows.access', {
    action: 'data_exchange',
    screen: 'PRIVACY_HOME',
    flow_token: token,
    data: { choice: 'access' },
  });
  const requestId = dataOf(myData).request_id;
  if (!isScreen(myData, 'MY_DATA') || typeof requestId !== 'string') {
    d.stats.error(
      'flows.access',
      `${describeAnswer(myData)} ${JSON.stringify(myData.answer ?? {}).slice(0, 200)}`,
    );
    return;
  }
  if (!(await untilCompleted(d, requestId, 'access'))) return;
  const res = await d.client.api('api.export', 'GET', `/v1/requests/${requestId}/export`);
  if (res.status !== 200) {
    d.stats.error('api.export', describeAnswer(res));
    return;
  }
  const bundle = JSON.parse(res.text) as Bundle;
  const messages = bundle.categories?.find((c) => c.id === 'messages')?.records.length;
  const fromSystems = (bundle.systems ?? []).reduce((n, s) => n + s.records.length, 0);
  if (messages !== lp.acked.size) {
    d.stats.lost('messages', `the export holds ${String(messages)} messages, ${lp.acked.size} acknowledged`);
  }
  if (fromSystems !== BusinessSystems.HELD) {
    d.stats.error('api.export', `the export holds ${fromSystems} records from the systems, expected 4`);
  }
}

/** After a completed erasure: nothing of the person is left in the business's systems. */
async function checkErased(d: OpDeps, lp: LoadPerson): Promise<void> {
  const left = await d.systems.held(lp.person);
  if (left !== 0) d.stats.lost('erasure', `${left} rows/keys/fields left in the systems after completion`);
}

/** "Delete my data" in the Privacy Center: CONFIRM_DELETE, confirm everything, SUCCESS with the request id. */
export async function eraseInFlow(d: OpDeps, lp: LoadPerson): Promise<void> {
  const token = await flowToken(d, lp);
  if (!token || !(await openHome(d, lp, token))) return;
  const confirm = await d.client.flow('flows.erase.choose', {
    action: 'data_exchange',
    screen: 'PRIVACY_HOME',
    flow_token: token,
    data: { choice: 'erasure' },
  });
  const scopes = (dataOf(confirm).scopes ?? []) as { id?: string }[];
  if (!isScreen(confirm, 'CONFIRM_DELETE') || !scopes.some((s) => s.id === 'all')) {
    d.stats.error(
      'flows.erase.choose',
      `${describeAnswer(confirm)} ${JSON.stringify(confirm.answer ?? {}).slice(0, 200)}`,
    );
    return;
  }
  const done = await d.client.flow('flows.erase.submit', {
    action: 'data_exchange',
    screen: 'CONFIRM_DELETE',
    flow_token: token,
    data: { request: 'erasure', scope: 'all', confirmed: true },
  });
  const params = (
    dataOf(done).extension_message_response as { params?: { request_id?: unknown } } | undefined
  )?.params;
  if (done.status !== 200 || done.answer?.screen !== 'SUCCESS' || typeof params?.request_id !== 'string') {
    d.stats.error(
      'flows.erase.submit',
      `${describeAnswer(done)} ${JSON.stringify(done.answer ?? {}).slice(0, 200)}`,
    );
    return;
  }
  lp.erasure = { requestId: params.request_id, via: 'flow' };
  lp.usedToken = token;
  if (await untilCompleted(d, params.request_id, 'erasure')) await checkErased(d, lp);
}

/** The confirmation button the business's WhatsApp number sent the person about this request. */
async function confirmButton(d: PrivacyDeps, lp: LoadPerson, reference: string): Promise<string | undefined> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (let i = d.graph.sent.length - 1; i >= 0; i--) {
      const body = d.graph.sent[i]!.body as {
        to?: string;
        interactive?: { body?: { text?: string }; action?: { buttons?: { reply: { id: string } }[] } };
      };
      if (body.to !== lp.person.waId || !body.interactive?.body?.text?.includes(reference)) continue;
      return body.interactive.action?.buttons?.[0]?.reply.id;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

/**
 * Staff enter an erasure through the API (POST /v1/requests → 202, awaiting the person); flowguard asks the
 * person on WhatsApp, they tap Confirm (a signed webhook), and the erasure runs.
 */
export async function eraseThroughApi(d: PrivacyDeps, lp: LoadPerson): Promise<void> {
  const res = await d.client.api('api.request', 'POST', '/v1/requests', {
    type: 'erasure',
    phone: lp.person.e164,
  });
  const created = res.status === 202 ? (JSON.parse(res.text) as { id?: string; reference?: string }) : {};
  if (!created.id || !created.reference) {
    d.stats.error('api.request', describeAnswer(res));
    return;
  }
  lp.erasure = { requestId: created.id, via: 'api' };
  const buttonId = await confirmButton(d, lp, created.reference);
  if (!buttonId) {
    d.stats.lost('erasure', `no confirmation reached the person for request ${created.id}`);
    return;
  }
  const tap = {
    from: lp.person.waId,
    id: `wamid.HBgL${lp.person.waId}FQIAEhgU${crypto.randomBytes(10).toString('hex').toUpperCase()}`,
    timestamp: String(Math.floor(Date.now() / 1000)),
    type: 'interactive',
    context: { from: '15550001234', id: `wamid.${crypto.randomBytes(12).toString('hex')}` },
    interactive: { type: 'button_reply', button_reply: { id: buttonId, title: 'Confirm' } },
  };
  const answer = await d.client.webhook(
    'webhook.confirm',
    JSON.stringify(delivery({ contacts: [contact(lp.person)], messages: [tap] as Json[] })),
  );
  if (answer.status !== 200) {
    d.stats.error('webhook.confirm', describeAnswer(answer));
    return;
  }
  if (await untilCompleted(d, created.id, 'erasure')) await checkErased(d, lp);
}

/** The flow token used for an erasure, tried again: refused with 427 (it proved who asked once). */
export async function replayUsedToken(d: OpDeps, lp: LoadPerson): Promise<void> {
  const res = await d.client.flow('refused.used-token', {
    action: 'INIT',
    flow_token: lp.usedToken,
    data: {},
  });
  if (res.status === 427) d.stats.refused('used flow token (427)');
  else d.stats.error('refused.used-token', `expected 427, got ${describeAnswer(res)}`);
}
