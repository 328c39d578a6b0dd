import { signMetaBody } from '../lib/crypto/meta-signature.js';
import { fakePerson, type FakePerson } from './fake-person.js';
import { createFlowClient, type FlowClient } from './flow-client.js';
import { createHttpClient, describeAnswer, SimulationError, type HttpClient } from './http-client.js';
import { bookingCompletion, textDelivery } from './meta-messages.js';
import { StoreCommandError, type StoreClient } from './store-client.js';
import { readCredentials, readRequest, readToken, type RequestStatus } from './store-answers.js';

/**
 * `flowguard simulate`: plays one WhatsApp user against a running flowguard, end to end, the way Meta and the
 * WhatsApp client would: signed webhooks (contact, two messages, a Flow completion), then the Privacy Center Flow
 * over the encrypted endpoint (summary, delete everything), then checks the request and that the person is gone.
 * Talks to the server over HTTP; secrets and flow tokens come from the store (admin socket while serve runs).
 */

export interface SimulationOptions {
  baseUrl: string;
  tenant?: string | undefined;
  phone?: string | undefined;
  out(line: string): void;
  /** How long to wait for the request to finish (data-map systems run in the workers). */
  settleMs?: number;
}

const STEPS = 9;
const TERMINAL = ['completed', 'failed', 'denied'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function postWebhook(
  http: HttpClient,
  step: string,
  appSecret: string,
  payload: unknown,
): Promise<Record<string, number>> {
  const body = JSON.stringify(payload);
  const answer = await http.post('/webhooks/whatsapp', body, {
    'content-type': 'application/json',
    'x-hub-signature-256': signMetaBody(Buffer.from(body), appSecret),
  });
  if (answer.status !== 200)
    throw new SimulationError(`${step}: the webhook answered ${describeAnswer(answer)}`);
  const parsed = JSON.parse(answer.text) as { events?: Record<string, number> };
  return parsed.events ?? {};
}

function counts(step: string, answer: Record<string, unknown>, screen: string) {
  if (answer.screen !== screen || !isRecord(answer.data)) {
    throw new SimulationError(
      `${step}: expected the ${screen} screen, got ${JSON.stringify(answer).slice(0, 200)}`,
    );
  }
  const d = answer.data;
  return {
    messages: Number(d.messages ?? NaN),
    flow_responses: Number(d.flow_responses ?? NaN),
    media: Number(d.media ?? NaN),
    identities: Number(d.identities ?? NaN),
    has_profile_name: d.has_profile_name === true,
    summary: typeof d.summary === 'string' ? d.summary : '',
  };
}

export async function runSimulation(store: StoreClient, opts: SimulationOptions): Promise<void> {
  const at = { step: 'start' };
  try {
    await simulate(store, opts, at);
  } catch (err) {
    if (err instanceof StoreCommandError) throw new SimulationError(`${at.step}: ${err.message}`);
    throw err;
  }
}

async function simulate(store: StoreClient, opts: SimulationOptions, at: { step: string }): Promise<void> {
  const http = createHttpClient(opts.baseUrl);
  let n = 0;
  const step = (title: string) => {
    n += 1;
    opts.out(`[${n}/${STEPS}] ${title}`);
    at.step = `step ${n} (${title})`;
    return at.step;
  };
  const detail = (line: string) => opts.out(`      ${line}`);

  let s = step(`Checking flowguard at ${http.base}`);
  const health = await http.get('/healthz');
  if (health.status !== 200) throw new SimulationError(`${s}: /healthz answered ${describeAnswer(health)}`);
  const creds = readCredentials(await store.run('simulate.credentials', { tenant: opts.tenant }));
  detail(`up; tenant "${creds.tenant}", phone number id ${creds.phone_number_id}`);

  const person: FakePerson = fakePerson(opts.phone);
  s = step('Sending a signed webhook: the contact card and two text messages');
  detail(`simulated person: ${person.name}, ${person.phone}`);
  const texts = await postWebhook(
    http,
    s,
    creds.app_secret,
    textDelivery(person, creds.phone_number_id, ['Hi! Do you have a slot next week?', 'A haircut, please.']),
  );
  if ((texts.ingested ?? 0) < 2 || (texts.rejected ?? 0) > 0) {
    throw new SimulationError(`${s}: expected 2 messages ingested, got ${JSON.stringify(texts)}`);
  }
  detail(`accepted: ${texts.ingested} events ingested (the contact and 2 messages)`);

  s = step('Sending a signed Flow completion (a booking, nfm_reply)');
  const booking = await postWebhook(
    http,
    s,
    creds.app_secret,
    bookingCompletion(person, creds.phone_number_id),
  );
  if ((booking.ingested ?? 0) < 1 || (booking.rejected ?? 0) > 0) {
    throw new SimulationError(`${s}: expected the Flow completion ingested, got ${JSON.stringify(booking)}`);
  }
  detail('accepted: the booking answers are stored, encrypted');

  step('Issuing a flow token for the person');
  const token = readToken(await store.run('flow-token.issue', { phone: person.phone, tenant: creds.tenant }));
  detail(`token issued, valid until ${token.expires_at}`);
  const flow: FlowClient = createFlowClient(http, {
    path: creds.is_default ? '/flows/endpoint' : `/flows/endpoint/${creds.tenant}`,
    appSecret: creds.app_secret,
    publicKeyPem: creds.public_key_pem,
  });

  s = step('Opening the Privacy Center Flow (ping, INIT)');
  const ping = await flow(s, { action: 'ping' });
  if (!isRecord(ping.data) || ping.data.status !== 'active') {
    throw new SimulationError(`${s}: the health check answered ${JSON.stringify(ping)}`);
  }
  const home = counts(
    s,
    await flow(s, { action: 'INIT', flow_token: token.flow_token, data: {} }),
    'PRIVACY_HOME',
  );
  detail(`health check: active; PRIVACY_HOME says: ${home.summary}`);
  if (!(home.messages >= 2 && home.flow_responses >= 1)) {
    throw new SimulationError(
      `${s}: expected at least 2 messages and 1 form response, got ${JSON.stringify(home)}`,
    );
  }

  s = step('Choosing "Delete my data"');
  const confirm = await flow(s, {
    action: 'data_exchange',
    screen: 'PRIVACY_HOME',
    flow_token: token.flow_token,
    data: { choice: 'erasure' },
  });
  const scopes = isRecord(confirm.data) && Array.isArray(confirm.data.scopes) ? confirm.data.scopes : [];
  if (confirm.screen !== 'CONFIRM_DELETE' || !scopes.some((x) => isRecord(x) && x.id === 'all')) {
    throw new SimulationError(
      `${s}: expected CONFIRM_DELETE with the scope "all", got ${JSON.stringify(confirm).slice(0, 300)}`,
    );
  }
  detail(`CONFIRM_DELETE offers: ${scopes.map((x) => (isRecord(x) ? String(x.id) : '?')).join(', ')}`);

  s = step('Confirming: delete everything (scope all, confirmed)');
  const done = await flow(s, {
    action: 'data_exchange',
    screen: 'CONFIRM_DELETE',
    flow_token: token.flow_token,
    data: { request: 'erasure', scope: 'all', confirmed: true },
  });
  const ext =
    isRecord(done.data) && isRecord(done.data.extension_message_response)
      ? done.data.extension_message_response
      : {};
  const params = isRecord(ext.params) ? ext.params : {};
  if (done.screen !== 'SUCCESS' || typeof params.request_id !== 'string') {
    throw new SimulationError(
      `${s}: expected SUCCESS with a request_id, got ${JSON.stringify(done).slice(0, 300)}`,
    );
  }
  const requestId = params.request_id;
  detail(`SUCCESS: request ${requestId}`);

  s = step('Checking the request');
  let request: RequestStatus = readRequest(
    await store.run('simulate.request', { tenant: creds.tenant, id: requestId }),
  );
  const deadline = Date.now() + (opts.settleMs ?? 20_000);
  while (!TERMINAL.includes(request.status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    request = readRequest(await store.run('simulate.request', { tenant: creds.tenant, id: requestId }));
  }
  detail(
    `${request.reference}: ${request.type} ${request.status} (channel ${request.channel}, verified by ${request.verification ?? '-'})`,
  );
  for (const sys of request.systems) {
    const c = Object.entries(sys.counts)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    detail(`  ${sys.id}: ${sys.status}${c ? ` (${c})` : ''}`);
  }
  if (request.status === 'failed' || request.status === 'denied') {
    throw new SimulationError(
      `${s}: the request ended ${request.status}${request.error_code ? ` (${request.error_code})` : ''}`,
    );
  }
  if (request.status !== 'completed') detail(`still ${request.status}: data-map systems are being worked on`);

  s = step('Checking the person is gone');
  const lookup = (await store.run('simulate.lookup', { tenant: creds.tenant, phone: person.phone })) as {
    known?: boolean;
  };
  if (lookup.known !== false) throw new SimulationError(`${s}: flowguard still knows this phone number`);
  detail('the store has no subject for this number any more');
  const fresh = readToken(await store.run('flow-token.issue', { phone: person.phone, tenant: creds.tenant }));
  const after = counts(
    s,
    await flow(s, { action: 'INIT', flow_token: fresh.flow_token, data: {} }),
    'PRIVACY_HOME',
  );
  if (after.messages !== 0 || after.flow_responses !== 0 || after.media !== 0 || after.has_profile_name) {
    throw new SimulationError(`${s}: a fresh Privacy Center still shows data: ${after.summary}`);
  }
  detail(`a fresh Privacy Center session shows: ${after.summary}`);
  opts.out(
    `Simulation complete: ${person.name}, ${person.phone}, wrote in, booked, and had everything deleted.`,
  );
}
