import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/modules/audit/index.js';
import { getRequestView } from '../../src/modules/dsr/index.js';
import { blindIndex } from '../../src/modules/subjects/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  flowReplyMessage,
  imageMessage,
  phoneOf,
  postWebhook,
  snapshotTables,
  statusItem,
  textMessage,
  type Person,
} from '../helpers/webhook-payloads.js';
import { callFlow, issueToken } from './flows-endpoint.client.js';

/** The shipped Flow JSON: every answer of the endpoint must fit the screen it names. */
type Decl = { type: string; items?: { properties?: Record<string, unknown> } };
type FlowDoc = {
  routing_model: Record<string, string[]>;
  screens: { id: string; data?: Record<string, Decl> }[];
};
const FLOW = JSON.parse(
  fs.readFileSync(new URL('../../flows/privacy-center.json', import.meta.url), 'utf8'),
) as FlowDoc;
const NOTICE = 'Deleting your data cancels your table booking at Testaurant.';

type Answer = { screen: string; data: Record<string, unknown> };

/** The answer's screen is reachable from `from` (or is `from` again), and its data is exactly what is declared. */
function expectFitsFlow(from: string | undefined, answer: Answer | undefined): Answer {
  expect(answer).toBeDefined();
  const { screen, data } = answer!;
  if (screen === 'SUCCESS') {
    expect(Object.keys(data)).toEqual(['extension_message_response']);
    return answer!;
  }
  if (from !== undefined && from !== screen) expect(FLOW.routing_model[from]).toContain(screen);
  const declared = FLOW.screens.find((s) => s.id === screen)?.data ?? {};
  const sent = Object.keys(data).filter((k) => k !== 'error_message');
  expect(sent.sort()).toEqual(Object.keys(declared).sort());
  for (const [key, decl] of Object.entries(declared)) {
    const value = data[key];
    const kind = Array.isArray(value) ? 'array' : typeof value;
    expect(kind, `${screen}.${key}`).toBe(decl.type);
    if (decl.type === 'array') {
      const allowed = Object.keys(decl.items?.properties ?? {});
      for (const item of value as Record<string, unknown>[]) {
        expect(
          Object.keys(item).every((k) => allowed.includes(k)),
          `${screen}.${key} item keys`,
        ).toBe(true);
      }
    }
  }
  return answer!;
}

describe.each(storeKinds())('Privacy Center Flow through the Flows endpoint on %s', (kind) => {
  let t: TestApp;
  let configDir: string;
  beforeAll(async () => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-pc-'));
    const file = path.join(configDir, 'flowguard.yaml');
    fs.writeFileSync(file, `tenant:\n  privacyNotice:\n    deletion: "${NOTICE}"\n`);
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: file });
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(configDir, { recursive: true, force: true });
  });
  const db = () => t.ctx.database.db;

  /** A person who wrote twice, sent a photo, completed a booking Flow and received a message. */
  async function personWithData(): Promise<{ p: Person; subjectId: string }> {
    const p = fakePerson();
    const booking = JSON.stringify({ flow_token: 'booking-1', table_for: 2, note: p.name });
    const who = contact(p, { phone: true, bsuid: true });
    const messages = [
      textMessage(p, 'hello'),
      textMessage(p, 'is there a table tonight?'),
      imageMessage(p, { id: '7100000001', caption: 'my menu photo' }),
      flowReplyMessage(p, booking),
    ];
    for (const body of [
      delivery({ contacts: [who], messages }),
      delivery({ statuses: [statusItem(p, 'delivered')] }),
    ]) {
      expect((await postWebhook(t, body)).statusCode).toBe(200);
    }
    const subjectId = await t.ctx.subjects.find(db(), 'default', [phoneOf(p)]);
    expect(subjectId).toBeDefined();
    return { p, subjectId: subjectId! };
  }

  async function call(token: string, action: string, screen?: string, data?: Record<string, unknown>) {
    const res = await callFlow(t, {
      version: '3.0',
      action,
      flow_token: token,
      ...(screen ? { screen } : {}),
      data,
    });
    expect(res.status, res.raw).toBe(200);
    return res.answer as Answer;
  }
  const count = async (
    table: 'messages' | 'media' | 'flow_responses' | 'message_statuses',
    subjectId: string,
  ) =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('subject_id', '=', subjectId)
          .executeTakeFirst()
      )?.n,
    );

  it('shows what is held and offers deletion of only the categories that hold data', async () => {
    const { p } = await personWithData();
    const { token } = await issueToken(t, phoneOf(p));
    const home = expectFitsFlow(undefined, await call(token, 'INIT'));
    expect(home).toMatchObject({
      screen: 'PRIVACY_HOME',
      data: { messages: 4, flow_responses: 1, media: 1, identities: 2, has_profile_name: true },
    });
    expect(home.data.summary).toContain('4 messages');

    const confirm = expectFitsFlow(
      'PRIVACY_HOME',
      await call(token, 'data_exchange', 'PRIVACY_HOME', { choice: 'erasure' }),
    );
    expect(confirm.screen).toBe('CONFIRM_DELETE');
    expect((confirm.data.scopes as { id: string; title: string }[]).map((s) => [s.id, s.title])).toEqual([
      ['all', 'Everything'],
      ['profile', 'Profile name'],
      ['messages', 'Messages (4)'],
      ['flow_responses', 'Form answers (1)'],
      ['media', 'Media files (1)'],
      ['delivery_statuses', 'Delivery receipts (1)'],
    ]);
    expect(confirm.data.notice).toBe(NOTICE);

    const back = expectFitsFlow(undefined, await call(token, 'BACK', 'CONFIRM_DELETE'));
    expect(back).toMatchObject({ screen: 'PRIVACY_HOME', data: { messages: 4 } });
    const unknown = expectFitsFlow(
      'PRIVACY_HOME',
      await call(token, 'data_exchange', 'PRIVACY_HOME', { choice: 'x' }),
    );
    expect(unknown).toMatchObject({ screen: 'PRIVACY_HOME', data: { error_message: expect.any(String) } });
  });

  it('refuses an unconfirmed deletion or an unknown scope, and changes nothing', async () => {
    const { p } = await personWithData();
    const { token } = await issueToken(t, phoneOf(p));
    const before = await snapshotTables(t);
    for (const data of [
      { request: 'erasure', scope: 'messages', confirmed: false },
      { request: 'erasure', scope: 'messages' },
      { request: 'erasure', scope: 'identity', confirmed: true },
      { request: 'erasure', scope: ['all'], confirmed: true },
    ]) {
      const answer = expectFitsFlow(
        'CONFIRM_DELETE',
        await call(token, 'data_exchange', 'CONFIRM_DELETE', data),
      );
      expect(answer.screen).toBe('CONFIRM_DELETE');
      expect(answer.data.error_message).toMatch(/^Please /);
    }
    expect(await snapshotTables(t)).toEqual(before);
  });

  it('deletes one category, then everything, each in one call, and refuses a used token with 427', async () => {
    const { p, subjectId } = await personWithData();
    const first = await issueToken(t, phoneOf(p));
    const done = expectFitsFlow(
      'CONFIRM_DELETE',
      await call(first.token, 'data_exchange', 'CONFIRM_DELETE', {
        request: 'erasure',
        scope: 'messages',
        confirmed: true,
      }),
    );
    const params = (
      done.data.extension_message_response as { params: { flow_token: string; request_id: string } }
    ).params;
    expect(params.flow_token).toBe(first.token);
    expect(await count('messages', subjectId)).toBe(0);
    expect([await count('media', subjectId), await count('flow_responses', subjectId)]).toEqual([1, 1]);
    const partial = await getRequestView(db(), 'default', params.request_id, new Date());
    expect(partial).toMatchObject({
      type: 'erasure',
      scope: 'messages',
      channel: 'flow',
      status: 'completed',
      verification: 'flow_token',
    });
    expect((await callFlow(t, { version: '3.0', action: 'INIT', flow_token: first.token })).status).toBe(427);

    const second = await issueToken(t, phoneOf(p));
    expect(second.subjectId).toBe(subjectId);
    const home = expectFitsFlow(undefined, await call(second.token, 'INIT'));
    expect(home.data).toMatchObject({ messages: 0, media: 1 });
    const confirm = await call(second.token, 'data_exchange', 'PRIVACY_HOME', { choice: 'erasure' });
    expect((confirm.data.scopes as { id: string }[]).map((s) => s.id)).not.toContain('messages');

    const all = expectFitsFlow(
      'CONFIRM_DELETE',
      await call(second.token, 'data_exchange', 'CONFIRM_DELETE', {
        request: 'erasure',
        scope: 'all',
        confirmed: true,
      }),
    );
    const allParams = (all.data.extension_message_response as { params: Record<string, string> }).params;
    expect(allParams).toEqual({ flow_token: second.token, request_id: expect.any(String) });
    expect(await t.ctx.subjects.find(db(), 'default', [phoneOf(p)])).toBeUndefined();
    expect(await t.ctx.subjects.find(db(), 'default', [bsuidOf(p)])).toBeUndefined();
    for (const table of ['subjects', 'identities', 'subject_keys', 'flow_tokens'] as const) {
      const column = table === 'subjects' ? 'id' : 'subject_id';
      expect(
        await db().selectFrom(table).select(column).where(column, '=', subjectId).execute(),
        table,
      ).toEqual([]);
    }
    const view = await getRequestView(db(), 'default', allParams.request_id!, new Date());
    expect(view).toMatchObject({ scope: 'all', status: 'completed', verification: 'flow_token' });
    expect(await verifyAuditChain(db())).toMatchObject({ ok: true });
    for (const token of [first.token, second.token]) {
      const res = await callFlow(t, { version: '3.0', action: 'INIT', flow_token: token });
      expect(res.status).toBe(427);
      expect(JSON.parse(res.raw)).toEqual({ error_msg: expect.any(String) });
    }
    const logs = t.logs.text();
    for (const secret of [p.waId, p.bsuid, p.name, first.token, second.token])
      expect(logs).not.toContain(secret);
  });

  it('honours a token once when the deletion is submitted twice at the same time', async () => {
    const { p, subjectId } = await personWithData();
    const { token } = await issueToken(t, phoneOf(p));
    const submit = { request: 'erasure', scope: 'media', confirmed: true };
    const results = await Promise.all(
      [1, 2].map(() =>
        callFlow(t, {
          version: '3.0',
          action: 'data_exchange',
          screen: 'CONFIRM_DELETE',
          flow_token: token,
          data: submit,
        }),
      ),
    );
    const screens = results.map((r) => (r.status === 200 ? (r.answer as Answer).screen : r.status)).sort();
    expect(screens).toHaveLength(2);
    expect(screens.filter((s) => s === 'SUCCESS')).toHaveLength(1);
    expect(screens.filter((s) => s === 427 || s === 'CONFIRM_DELETE')).toHaveLength(1);
    const erasures = await db()
      .selectFrom('privacy_requests')
      .select('id')
      .where('subject_id', '=', subjectId)
      .where('type', '=', 'erasure')
      .execute();
    expect(erasures).toHaveLength(1);
    expect(await count('media', subjectId)).toBe(0);
  });

  it('records a marketing opt-out verified by the token and suppresses the person', async () => {
    const { p, subjectId } = await personWithData();
    const { token } = await issueToken(t, phoneOf(p));
    const done = expectFitsFlow(
      'PRIVACY_HOME',
      await call(token, 'data_exchange', 'PRIVACY_HOME', { choice: 'opt_out' }),
    );
    expect(done.screen).toBe('DONE');
    const request = await db()
      .selectFrom('privacy_requests')
      .selectAll()
      .where('id', '=', done.data.request_id as string)
      .executeTakeFirstOrThrow();
    expect(request).toMatchObject({
      type: 'opt_out',
      channel: 'flow',
      status: 'completed',
      verification: 'flow_token',
    });
    expect(done.data.message).toContain(request.reference);
    const subject = await db()
      .selectFrom('subjects')
      .select('marketing_opt_out')
      .where('id', '=', subjectId)
      .executeTakeFirst();
    expect(subject?.marketing_opt_out).toBe(true);
    const indexes = [phoneOf(p), bsuidOf(p)].map((i) => blindIndex(t.ctx.keyring, 'default', i));
    const suppressed = await db()
      .selectFrom('suppressions')
      .select('kind')
      .where('blind_index', 'in', indexes)
      .execute();
    expect(suppressed.map((s) => s.kind).sort()).toEqual(['bsuid', 'phone']);
    // The token still serves the rest of the Flow: the person may go back and ask for more.
    expect((await call(token, 'BACK', 'DONE')).screen).toBe('PRIVACY_HOME');
  });

  it('creates an access request and shows the counts on MY_DATA', async () => {
    const { p } = await personWithData();
    const { token } = await issueToken(t, phoneOf(p));
    const mine = expectFitsFlow(
      'PRIVACY_HOME',
      await call(token, 'data_exchange', 'PRIVACY_HOME', { choice: 'access' }),
    );
    expect(mine.screen).toBe('MY_DATA');
    expect(mine.data.details).toContain(
      '- Messages: 4\n- Form answers: 1\n- Media files: 1\n- Delivery receipts: 1',
    );
    const view = await getRequestView(db(), 'default', mine.data.request_id as string, new Date());
    expect(view).toMatchObject({
      type: 'access',
      channel: 'flow',
      status: 'completed',
      reference: mine.data.reference,
    });
    expect(mine.data.note).toContain(view.reference);
  });
});
