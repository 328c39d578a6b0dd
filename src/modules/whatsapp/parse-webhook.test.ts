import { describe, expect, it } from 'vitest';
import {
  NOT_ENVELOPE,
  STOP_KEYWORDS,
  eventKey,
  isStopKeyword,
  parseWebhook,
  type MessageEvent,
  type ParsedWebhook,
  type WebhookEvent,
} from './parse-webhook.js';

// ---------- deterministic fake data (555-01xx numbers are reserved for fiction) ----------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const seeded = prng(20260501);
const fakeWaId = (n: number) => `1555010${String(n).padStart(4, '0')}`;
const fakeBsuid = (cc = 'US') =>
  `${cc}.${Array.from({ length: 20 }, () => ALNUM[Math.floor(seeded() * ALNUM.length)]).join('')}`;

const WA = [fakeWaId(1), fakeWaId(2), fakeWaId(3), fakeWaId(4)] as const;
const BS = [fakeBsuid(), fakeBsuid(), fakeBsuid('DE'), fakeBsuid('BR')] as const;
const NAMES = ['Testy McFakeface', 'Erika Mustermann-Probe'] as const;
const BODY_SECRET = 'my secret address is 1 Fake Street';
/** Values that must never appear in a rejection. */
const SECRETS = [...WA, ...WA.map((w) => `+${w}`), ...BS, ...NAMES, BODY_SECRET];

const WABA = '102290129340398';
const PNID = '106540352242922';
const TS = '1767225600'; // 2026-01-01T00:00:00Z
const wamid = (n: number) => `wamid.HBgLMTU1NTAxMDAwMDEVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMA${n}A=`;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const envelope = (...entries: Json[]): Json => ({ object: 'whatsapp_business_account', entry: entries });
const entry = (...changes: Json[]): Json => ({ id: WABA, changes });
const change = (field: string, value: Json): Json => ({ field, value });
const messagesValue = (parts: { contacts?: Json[]; messages?: Json[]; statuses?: Json[] }): Json => ({
  messaging_product: 'whatsapp',
  metadata: { display_phone_number: '15550783881', phone_number_id: PNID },
  ...parts,
});
const contact = (wa?: string, bsuid?: string, name: string = NAMES[0]): Json => ({
  profile: { name },
  ...(wa ? { wa_id: wa } : {}),
  ...(bsuid ? { user_id: bsuid } : {}),
});
const textMessage = (n: number, body: string, from: string = WA[0]): Json => ({
  from,
  id: wamid(n),
  timestamp: TS,
  type: 'text',
  text: { body },
});
const single = (value: Json, field = 'messages') => parseWebhook(envelope(entry(change(field, value))));
const ofKind = <K extends WebhookEvent['kind']>(r: ParsedWebhook, kind: K) =>
  r.events.filter((e): e is Extract<WebhookEvent, { kind: K }> => e.kind === kind);

function expectClean(r: ParsedWebhook): void {
  const text = JSON.stringify(r.rejected);
  for (const s of SECRETS) expect(text).not.toContain(s);
  expect(text).not.toMatch(/\d{8,}/);
}

// ---------- realistic payloads ----------

describe('parseWebhook: messages field', () => {
  it('parses a text message and its contact', () => {
    const r = single(
      messagesValue({ contacts: [contact(WA[0], BS[0])], messages: [textMessage(1, 'Hello there', WA[0])] }),
    );
    expect(r).toMatchObject({ isEnvelope: true, rejected: [] });
    expect(r.events).toEqual([
      {
        kind: 'contact',
        wabaId: WABA,
        phoneNumberId: PNID,
        phone: `+${WA[0]}`,
        bsuid: BS[0],
        profileName: NAMES[0],
      },
      {
        kind: 'message',
        wabaId: WABA,
        phoneNumberId: PNID,
        id: wamid(1),
        from: { phone: `+${WA[0]}` },
        timestamp: new Date('2026-01-01T00:00:00Z'),
        type: 'text',
        text: 'Hello there',
        isStopKeyword: false,
      },
    ]);
  });

  it('parses an image with caption', () => {
    const r = single(
      messagesValue({
        messages: [
          {
            from: WA[1],
            id: wamid(2),
            timestamp: TS,
            type: 'image',
            image: { caption: 'receipt', mime_type: 'image/jpeg', sha256: 'abc=', id: '1479537139650973' },
          },
        ],
      }),
    );
    expect(r.rejected).toEqual([]);
    const [m] = ofKind(r, 'message');
    expect(m?.caption).toBe('receipt');
    expect(m?.media).toEqual({
      id: '1479537139650973',
      mimeType: 'image/jpeg',
      sha256: 'abc=',
      caption: 'receipt',
      kind: 'image',
    });
    expect(m?.text).toBeUndefined();
  });

  it('keeps a media message whose mime type is not a media type, without the type', () => {
    const image = (mime_type: Json) => ({
      from: WA[1],
      id: wamid(3),
      timestamp: TS,
      type: 'image',
      image: { id: '1479537139650974', mime_type },
    });
    for (const bad of [
      'image/\u0000jpeg',
      'image/jpeg\r\nX: y',
      'jpeg',
      '',
      'ïmage/jpeg',
      42,
      ['image/jpeg'],
    ]) {
      const r = single(messagesValue({ messages: [image(bad)] }));
      expect(r.rejected).toEqual([]);
      expect(ofKind(r, 'message')[0]?.media).toEqual({ id: '1479537139650974', kind: 'image' });
    }
    for (const good of ['image/jpeg', 'audio/ogg; codecs=opus', 'application/vnd.ms-excel']) {
      const r = single(messagesValue({ messages: [image(good)] }));
      expect(ofKind(r, 'message')[0]?.media?.mimeType).toBe(good);
    }
  });

  it('parses a Flow completion (nfm_reply)', () => {
    const responseJson = JSON.stringify({ flow_token: 'ft_abc.def', screen_0_choice: '1' });
    const r = single(
      messagesValue({
        contacts: [contact(WA[0])],
        messages: [
          {
            context: { from: '15550783881', id: wamid(9) },
            from: WA[0],
            id: wamid(3),
            timestamp: TS,
            type: 'interactive',
            interactive: {
              type: 'nfm_reply',
              nfm_reply: { name: 'flow', body: 'Sent', response_json: responseJson },
            },
          },
        ],
      }),
    );
    expect(r.rejected).toEqual([]);
    const [m] = ofKind(r, 'message');
    expect(m?.flowReply).toEqual({
      responseJson,
      parsed: { flow_token: 'ft_abc.def', screen_0_choice: '1' },
      flowToken: 'ft_abc.def',
    });
    expect(m?.context).toEqual({ id: wamid(9) });
    expect(m?.text).toBeUndefined();
  });

  it('keeps the raw response_json when it is not a JSON object', () => {
    const nfm = (n: number, response_json: string): Json => ({
      from: WA[0],
      id: wamid(n),
      timestamp: TS,
      type: 'interactive',
      interactive: { type: 'nfm_reply', nfm_reply: { response_json } },
    });
    const r = single(
      messagesValue({ messages: [nfm(1, '{not json'), nfm(2, '[1,2]'), nfm(3, '{"flow_token":7}')] }),
    );
    expect(r.rejected).toEqual([]);
    expect(ofKind(r, 'message').map((m) => m.flowReply)).toEqual([
      { responseJson: '{not json', parsed: undefined },
      { responseJson: '[1,2]', parsed: undefined },
      { responseJson: '{"flow_token":7}', parsed: { flow_token: 7 } },
    ]);
  });

  it('uses button and interactive reply titles as text', () => {
    const r = single(
      messagesValue({
        messages: [
          {
            from: WA[0],
            id: wamid(1),
            timestamp: TS,
            type: 'button',
            button: { text: 'Stop', payload: 'x' },
          },
          {
            from: WA[0],
            id: wamid(2),
            timestamp: TS,
            type: 'interactive',
            interactive: { type: 'list_reply', list_reply: { id: 'a', title: 'Option A' } },
          },
          {
            from: WA[0],
            id: wamid(3),
            timestamp: TS,
            type: 'interactive',
            interactive: { type: 'button_reply', button_reply: { id: 'b', title: 'Yes' } },
          },
          {
            from: WA[0],
            id: wamid(4),
            timestamp: TS,
            type: 'reaction',
            reaction: { message_id: 'x', emoji: 'x' },
          },
        ],
      }),
    );
    expect(r.rejected).toEqual([]);
    expect(ofKind(r, 'message').map((m) => [m.type, m.text, m.isStopKeyword])).toEqual([
      ['button', 'Stop', true],
      ['interactive', 'Option A', false],
      ['interactive', 'Yes', false],
      ['reaction', undefined, false],
    ]);
  });

  it('handles BSUID-only contacts and senders (no wa_id / from)', () => {
    const r = single(
      messagesValue({
        contacts: [
          { profile: { name: NAMES[1], username: 'fake.user' }, user_id: BS[2], parent_user_id: BS[3] },
        ],
        messages: [{ from_user_id: BS[2], id: wamid(1), timestamp: TS, type: 'text', text: { body: 'hi' } }],
      }),
    );
    expect(r.rejected).toEqual([]);
    expect(ofKind(r, 'contact')).toEqual([
      {
        kind: 'contact',
        wabaId: WABA,
        phoneNumberId: PNID,
        bsuid: BS[2],
        parentBsuid: BS[3],
        profileName: NAMES[1],
        username: 'fake.user',
      },
    ]);
    expect(ofKind(r, 'message')[0]?.from).toEqual({ bsuid: BS[2] });
  });

  it('parses statuses with errors, BSUID recipients and group recipients', () => {
    const r = single(
      messagesValue({
        statuses: [
          {
            id: wamid(1),
            status: 'failed',
            timestamp: TS,
            recipient_id: WA[2],
            errors: [
              { code: 131026, title: 'Message undeliverable', error_data: { details: 'x' } },
              { code: 'x' },
            ],
          },
          { id: wamid(2), status: 'read', timestamp: TS, recipient_user_id: BS[1], recipient_id: WA[1] },
          {
            id: wamid(3),
            status: 'delivered',
            timestamp: TS,
            recipient_id: '120363012345678901',
            recipient_type: 'group',
          },
        ],
      }),
    );
    expect(r.rejected).toEqual([]);
    expect(ofKind(r, 'status')).toEqual([
      {
        kind: 'status',
        wabaId: WABA,
        phoneNumberId: PNID,
        id: wamid(1),
        status: 'failed',
        timestamp: new Date(Number(TS) * 1000),
        recipient: { phone: `+${WA[2]}` },
        errorCodes: [131026],
      },
      expect.objectContaining({
        status: 'read',
        recipient: { phone: `+${WA[1]}`, bsuid: BS[1] },
        errorCodes: [],
      }),
      expect.objectContaining({ status: 'delivered', recipient: {} }),
    ]);
  });

  it('parses multiple entries and changes, and marks other fields unsupported without content', () => {
    const r = parseWebhook(
      envelope(
        entry(
          change('messages', messagesValue({ messages: [textMessage(1, 'a')] })),
          change('message_template_status_update', { event: 'APPROVED', message_template_name: NAMES[0] }),
        ),
        {
          id: '102290129340399',
          changes: [
            change('messages', messagesValue({ messages: [textMessage(2, 'b', WA[1])] })),
            change(
              'messages',
              messagesValue({ statuses: [{ id: wamid(3), status: 'sent', timestamp: TS }] }),
            ),
          ],
        },
      ),
    );
    expect(r.rejected).toEqual([]);
    expect(r.events.map((e) => [e.kind, e.wabaId])).toEqual([
      ['message', WABA],
      ['unsupported', WABA],
      ['message', '102290129340399'],
      ['status', '102290129340399'],
    ]);
    expect(ofKind(r, 'unsupported')).toEqual([
      { kind: 'unsupported', wabaId: WABA, field: 'message_template_status_update' },
    ]);
  });

  it('rejects one malformed message without dropping the others, and echoes no values', () => {
    const r = single(
      messagesValue({
        contacts: [contact('12', undefined), contact(undefined, 'not-a-bsuid-' + WA[3])],
        messages: [
          textMessage(1, 'ok'),
          textMessage(2, BODY_SECRET, 'phone:' + WA[3]),
          { id: wamid(3), timestamp: TS, type: 'text', text: { body: BODY_SECRET } },
          { from: WA[0], id: wamid(4), timestamp: 'yesterday', type: 'text', text: { body: 'x' } },
          {
            from: WA[0],
            id: wamid(5),
            timestamp: TS,
            type: 'text',
            text: { body: 'x'.repeat(64 * 1024 + 1) },
          },
          { from: WA[0], id: wamid(6), timestamp: TS, type: 'text' },
          {
            from: WA[0],
            id: wamid(7),
            timestamp: TS,
            type: 'interactive',
            interactive: { type: 'nfm_reply', nfm_reply: { response_json: 'x'.repeat(1024 * 1024 + 1) } },
          },
          { from: WA[0], id: wamid(8), timestamp: TS, type: 'image', image: { caption: BODY_SECRET } },
          textMessage(9, 'also ok', WA[1]),
        ],
      }),
    );
    expect(ofKind(r, 'message').map((m) => m.id)).toEqual([wamid(1), wamid(9)]);
    expect(ofKind(r, 'contact')).toEqual([]);
    const base = 'entry[0].changes[0].value';
    expect(r.rejected).toEqual([
      { reason: 'contact rejected: invalid phone number', path: `${base}.contacts[0].wa_id` },
      { reason: 'contact rejected: invalid business-scoped user id', path: `${base}.contacts[1].user_id` },
      { reason: 'message rejected: invalid phone number', path: `${base}.messages[1].from` },
      { reason: 'message rejected: message has neither from nor from_user_id', path: `${base}.messages[2]` },
      { reason: 'message rejected: not unix seconds', path: `${base}.messages[3].timestamp` },
      { reason: 'message rejected: too long (max 65536)', path: `${base}.messages[4].text.body` },
      { reason: 'message rejected: expected object', path: `${base}.messages[5].text` },
      {
        reason: 'message rejected: too long (max 1048576)',
        path: `${base}.messages[6].interactive.nfm_reply.response_json`,
      },
      { reason: 'message rejected: expected string', path: `${base}.messages[7].image.id` },
    ]);
    expectClean(r);
  });

  it('rejects a messages change without phone_number_id', () => {
    const r = single({ messaging_product: 'whatsapp', messages: [textMessage(1, 'x')] });
    expect(r.events).toEqual([]);
    expect(r.rejected).toEqual([
      { reason: 'change rejected: metadata.phone_number_id missing', path: 'entry[0].changes[0].value' },
    ]);
  });

  it('caps the number of rejections', () => {
    const bad = Array.from({ length: 500 }, (_, i) => ({ id: wamid(i), timestamp: TS, type: 'text' }));
    const r = single(messagesValue({ messages: bad }));
    expect(r.rejected).toHaveLength(201);
    expect(r.rejected.at(-1)).toEqual({ reason: '300 further rejections omitted', path: '' });
  });
});

describe('STOP keywords', () => {
  it.each([
    ['stop', true],
    ['  Stop \n', true],
    ['STOPALL', true],
    ['opt   out', true],
    ['Opt Out', true],
    ['optout', true],
    ['arrêt', true],
    ['arre\u0302t', true],
    ['Arret', true],
    ['baja', true],
    ['ALTO', true],
    ['unsubscribe', true],
    ['cancel', true],
    ['end', true],
    ['quit', true],
    ['stop please', false],
    ['stopp', false],
    ['', false],
    ['s t o p', false],
  ])('%j → %s', (text, expected) => {
    expect(isStopKeyword(text)).toBe(expected);
    const r = single(messagesValue({ messages: [textMessage(1, text)] }));
    expect(ofKind(r, 'message')[0]?.isStopKeyword).toBe(expected);
  });

  it('exports the list', () => {
    expect(STOP_KEYWORDS).toContain('OPT OUT');
    expect(STOP_KEYWORDS).toHaveLength(12);
  });
});

describe('parseWebhook: user_preferences', () => {
  it('parses the array shape with contacts (stop and resume)', () => {
    const r = single(
      {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15550783881', phone_number_id: PNID },
        contacts: [contact(WA[0])],
        user_preferences: [
          {
            wa_id: WA[0],
            detail: 'User requested to stop',
            category: 'marketing_messages',
            value: 'stop',
            timestamp: 1767225600,
          },
          {
            wa_id: WA[1],
            user_id: BS[1],
            detail: 'x',
            category: 'marketing_messages',
            value: 'resume',
            timestamp: TS,
          },
          { user_id: BS[2], category: 'marketing_messages', value: 'STOP', timestamp: TS },
        ],
      },
      'user_preferences',
    );
    expect(r.rejected).toEqual([]);
    expect(ofKind(r, 'contact')).toHaveLength(1);
    const prefs = ofKind(r, 'user_preference');
    expect(prefs).toEqual([
      {
        kind: 'user_preference',
        wabaId: WABA,
        phoneNumberId: PNID,
        phone: `+${WA[0]}`,
        category: 'marketing_messages',
        value: 'stop',
        timestamp: new Date(1767225600 * 1000),
      },
      expect.objectContaining({ phone: `+${WA[1]}`, bsuid: BS[1], value: 'resume' }),
      expect.objectContaining({ bsuid: BS[2], value: 'stop' }),
    ]);
    expect(prefs.map(eventKey)).toEqual([
      `pref:+${WA[0]}:marketing_messages:stop:1767225600`,
      `pref:+${WA[1]}:marketing_messages:resume:1767225600`,
      `pref:${BS[2]}:marketing_messages:stop:1767225600`,
    ]);
  });

  it('parses the flat shape from PROTOCOL.md', () => {
    const r = single(
      { wa_id: WA[3], detail: 'x', category: 'marketing_messages', value: 'stop', timestamp: TS },
      'user_preferences',
    );
    expect(r.rejected).toEqual([]);
    expect(r.events).toEqual([
      expect.objectContaining({ kind: 'user_preference', phone: `+${WA[3]}`, value: 'stop' }),
    ]);
  });

  it('rejects unknown values and missing identities without echoing them', () => {
    const r = single(
      {
        metadata: { phone_number_id: PNID },
        user_preferences: [
          { wa_id: WA[0], category: 'marketing_messages', value: 'maybe', timestamp: TS },
          { category: 'marketing_messages', value: 'stop', timestamp: TS },
          { wa_id: WA[0], category: 'marketing_messages', value: 'stop', timestamp: TS },
        ],
      },
      'user_preferences',
    );
    expect(ofKind(r, 'user_preference')).toHaveLength(1);
    expect(r.rejected.map((x) => x.path)).toEqual([
      'entry[0].changes[0].value.user_preferences[0].value',
      'entry[0].changes[0].value.user_preferences[1]',
    ]);
    expectClean(r);
  });
});

describe('parseWebhook: user_id_update', () => {
  it('parses the documented object, an array inside value, and an array value', () => {
    const payload = envelope(
      entry(
        change('user_id_update', {
          user_id: { previous: BS[0], current: BS[1] },
          wa_id: WA[0],
          timestamp: TS,
        }),
        change('user_id_update', {
          metadata: { phone_number_id: PNID },
          user_id_update: [{ user_id: { previous: BS[2], current: BS[3] } }],
        }),
        change('user_id_update', [{ user_id: { previous: BS[1], current: BS[0] } }]),
      ),
    );
    const r = parseWebhook(payload);
    expect(r.rejected).toEqual([]);
    expect(r.events).toEqual([
      {
        kind: 'user_id_update',
        wabaId: WABA,
        previousBsuid: BS[0],
        currentBsuid: BS[1],
        phone: `+${WA[0]}`,
        timestamp: new Date(Number(TS) * 1000),
      },
      {
        kind: 'user_id_update',
        wabaId: WABA,
        phoneNumberId: PNID,
        previousBsuid: BS[2],
        currentBsuid: BS[3],
      },
      { kind: 'user_id_update', wabaId: WABA, previousBsuid: BS[1], currentBsuid: BS[0] },
    ]);
    expect(eventKey(r.events[0]!)).toBe(`uid:${BS[0]}:${BS[1]}`);
  });

  it('rejects invalid BSUIDs', () => {
    const r = single({ user_id: { previous: WA[0], current: BS[1] } }, 'user_id_update');
    expect(r.events).toEqual([]);
    expect(r.rejected).toHaveLength(1);
    expectClean(r);
  });

  it('derives an update from a user_changed_user_id / user_changed_number system message', () => {
    const r = single(
      messagesValue({
        messages: [
          {
            from_user_id: BS[1],
            id: wamid(1),
            timestamp: TS,
            type: 'system',
            system: {
              body: `User ${NAMES[0]} changed`,
              type: 'user_changed_user_id',
              previous_user_id: BS[0],
              user_id: BS[1],
            },
          },
          {
            from: WA[0],
            id: wamid(2),
            timestamp: TS,
            type: 'system',
            system: {
              body: `User ${NAMES[0]} changed from ${WA[0]} to ${WA[1]}`,
              wa_id: WA[1],
              type: 'user_changed_number',
              previous_user_id: BS[2],
              user_id: BS[3],
            },
          },
          {
            from: WA[0],
            id: wamid(3),
            timestamp: TS,
            type: 'system',
            system: { body: 'x', new_wa_id: WA[1], type: 'customer_changed_number' },
          },
        ],
      }),
    );
    expect(r.rejected).toEqual([]);
    expect(r.events.map((e) => e.kind)).toEqual([
      'user_id_update',
      'message',
      'user_id_update',
      'message',
      'message',
    ]);
    expect(ofKind(r, 'user_id_update')).toEqual([
      expect.objectContaining({ previousBsuid: BS[0], currentBsuid: BS[1], phoneNumberId: PNID }),
      expect.objectContaining({ previousBsuid: BS[2], currentBsuid: BS[3], phone: `+${WA[1]}` }),
    ]);
    const msgs = ofKind(r, 'message');
    expect(msgs.every((m: MessageEvent) => m.type === 'system' && m.text === undefined)).toBe(true);
    expect(JSON.stringify(r.events)).not.toContain(NAMES[0]);
  });
});

describe('parseWebhook: envelope and keys', () => {
  it.each([
    null,
    undefined,
    0,
    'x',
    [],
    {},
    { object: 'page', entry: [] },
    { object: 'whatsapp_business_account' },
  ])('rejects non-envelope %j', (body) => {
    expect(parseWebhook(body)).toEqual({
      isEnvelope: false,
      events: [],
      rejected: [{ reason: NOT_ENVELOPE, path: '' }],
    });
  });

  it('accepts an empty envelope', () => {
    expect(parseWebhook(envelope())).toEqual({ isEnvelope: true, events: [], rejected: [] });
  });

  it('survives throwing getters', () => {
    const evil = {
      object: 'whatsapp_business_account',
      get entry(): unknown {
        throw new Error(WA[0]);
      },
    };
    expect(parseWebhook(evil)).toMatchObject({ isEnvelope: false, events: [] });
    const evilEntry = {
      get id(): unknown {
        throw new Error(WA[0]);
      },
    };
    const r = parseWebhook({ object: 'whatsapp_business_account', entry: [evilEntry, entry()] });
    expect(r.isEnvelope).toBe(true);
    expect(r.rejected).toEqual([{ reason: 'internal error while parsing item', path: 'entry[0]' }]);
  });

  it('builds stable keys', () => {
    const r = single(
      messagesValue({
        contacts: [contact(WA[0])],
        messages: [textMessage(1, 'x')],
        statuses: [{ id: wamid(2), status: 'delivered', timestamp: TS, recipient_id: WA[0] }],
      }),
    );
    expect(r.events.map(eventKey)).toEqual([undefined, `msg:${wamid(1)}`, `status:${wamid(2)}:delivered`]);
  });
});

// ---------- garbage ----------

// prettier-ignore
const KEYS = [
  'object',
  'entry',
  'id',
  'changes',
  'field',
  'value',
  'metadata',
  'phone_number_id',
  'contacts',
  'messages',
  'statuses',
  'from',
  'from_user_id',
  'wa_id',
  'user_id',
  'timestamp',
  'type',
  'text',
  'body',
  'interactive',
  'nfm_reply',
  'response_json',
  'image',
  'system',
  'user_preferences',
  'user_id_update',
  'previous',
  'current',
  'errors',
  'code',
  'recipient_id',
  '__proto__',
  'constructor',
  WA[0],
  BS[0],
];

function randomJson(rand: () => number, depth = 0): Json {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const r = rand();
  if (depth > 5 || r < 0.45) {
    // prettier-ignore
    return pick<Json>([
      null,
      true,
      false,
      0,
      -1,
      1.5,
      1e308,
      Number(TS),
      '',
      TS,
      'whatsapp_business_account',
      'messages',
      'text',
      'interactive',
      'nfm_reply',
      'system',
      'stop',
      'user_preferences',
      'user_id_update',
      WA[0],
      `+${WA[1]}`,
      BS[0],
      BS[1],
      NAMES[0],
      BODY_SECRET,
      `${BS[2]}!`,
      '{"flow_token":"x"}',
      '{',
      'x'.repeat(70_000),
    ]);
  }
  if (r < 0.7) return Array.from({ length: Math.floor(rand() * 5) }, () => randomJson(rand, depth + 1));
  const obj: Record<string, Json> = {};
  for (let i = Math.floor(rand() * 6); i > 0; i--) obj[pick(KEYS)] = randomJson(rand, depth + 1);
  return JSON.parse(JSON.stringify(obj)) as Json;
}

function validSample(): Json {
  return envelope(
    entry(
      change(
        'messages',
        messagesValue({
          contacts: [contact(WA[0], BS[0]), contact(undefined, BS[1], NAMES[1])],
          messages: [
            textMessage(1, BODY_SECRET),
            {
              from: WA[0],
              id: wamid(2),
              timestamp: TS,
              type: 'interactive',
              context: { id: wamid(0) },
              interactive: {
                type: 'nfm_reply',
                nfm_reply: { response_json: `{"flow_token":"t","n":"${NAMES[0]}"}` },
              },
            },
            {
              from_user_id: BS[1],
              id: wamid(3),
              timestamp: TS,
              type: 'image',
              image: { id: '1', caption: BODY_SECRET },
            },
            {
              from: WA[2],
              id: wamid(4),
              timestamp: TS,
              type: 'system',
              system: { previous_user_id: BS[2], user_id: BS[3] },
            },
          ],
          statuses: [
            { id: wamid(5), status: 'failed', timestamp: TS, recipient_id: WA[3], errors: [{ code: 1 }] },
          ],
        }),
      ),
      change('user_preferences', {
        user_preferences: [{ wa_id: WA[1], category: 'marketing_messages', value: 'stop', timestamp: TS }],
      }),
      change('user_id_update', { user_id: { previous: BS[0], current: BS[1] }, wa_id: WA[0] }),
    ),
  );
}

function mutate(root: Json, rand: () => number): Json {
  const nodes: { parent: Json[] | Record<string, Json>; key: string | number }[] = [];
  const walk = (v: Json): void => {
    if (Array.isArray(v)) {
      v.forEach((c, i) => {
        nodes.push({ parent: v, key: i });
        walk(c);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, c] of Object.entries(v)) {
        nodes.push({ parent: v, key: k });
        walk(c);
      }
    }
  };
  walk(root);
  const target = nodes[Math.floor(rand() * nodes.length)];
  if (!target) return root;
  const { parent, key } = target;
  const set = (v: Json) => ((parent as Record<string | number, Json>)[key] = v);
  const current = (parent as Record<string | number, Json>)[key] as Json;
  const op = Math.floor(rand() * 6);
  if (op === 0 && !Array.isArray(parent)) delete parent[key as string];
  else if (op === 1) set(randomJson(rand));
  else if (op === 2) set([current]);
  else if (op === 3) set(typeof current === 'string' ? `${current} ${WA[3]}` : String(current));
  else if (op === 4) set(typeof current === 'string' ? Number(current) || 0 : { nested: current });
  else set(null);
  return root;
}

describe('parseWebhook: garbage', () => {
  it('never throws on random JSON and never echoes payload values', () => {
    const rand = prng(7);
    for (let i = 0; i < 600; i++) {
      const body =
        i % 2 === 0
          ? randomJson(rand)
          : envelope(...(Array.isArray(randomJson(rand)) ? [randomJson(rand)] : []));
      const r = parseWebhook(body);
      expect(typeof r.isEnvelope).toBe('boolean');
      expectClean(r);
    }
  });

  it('never throws on mutated valid payloads and keeps unaffected items', () => {
    const rand = prng(11);
    expect(parseWebhook(validSample()).rejected).toEqual([]);
    let sawEvents = 0;
    let sawRejections = 0;
    for (let i = 0; i < 800; i++) {
      let body = validSample();
      for (let m = 1 + Math.floor(rand() * 4); m > 0; m--) body = mutate(body, rand);
      const r = parseWebhook(body);
      expectClean(r);
      expect(r.rejected.length).toBeLessThanOrEqual(201);
      for (const e of r.events) expect(() => eventKey(e)).not.toThrow();
      if (r.events.length > 0) sawEvents++;
      if (r.rejected.length > 0) sawRejections++;
    }
    expect(sawEvents).toBeGreaterThan(400);
    expect(sawRejections).toBeGreaterThan(200);
  });
});

describe('parseWebhook: sources for the pass-through', () => {
  it('attaches the raw item, the raw metadata and the change path only when asked', () => {
    const msg = textMessage(1, 'hi');
    const status: Json = { id: wamid(2), status: 'sent', timestamp: TS, recipient_id: WA[0] };
    const value = messagesValue({ contacts: [contact(WA[0])], messages: [msg], statuses: [status] });
    const body = envelope(
      entry(
        change('user_id_update', { user_id: { previous: BS[0], current: BS[1] } }),
        change('messages', value),
      ),
    );
    expect(parseWebhook(body).events.every((e) => e.source === undefined)).toBe(true);
    const r = parseWebhook(body, { withSource: true });
    const meta = (value as { metadata: Json }).metadata;
    expect(r.events.map((e) => [e.kind, e.source])).toEqual([
      [
        'user_id_update',
        {
          change: 'entry[0].changes[0]',
          metadata: undefined,
          item: { user_id: { previous: BS[0], current: BS[1] } },
        },
      ],
      ['contact', { change: 'entry[0].changes[1]', metadata: meta, item: contact(WA[0]) }],
      ['message', { change: 'entry[0].changes[1]', metadata: meta, item: msg }],
      ['status', { change: 'entry[0].changes[1]', metadata: meta, item: status }],
    ]);
  });
});
