import { describe, expect, it } from 'vitest';
import {
  BODY_SECRET,
  BS,
  change,
  contact,
  entry,
  envelope,
  expectClean,
  messagesValue,
  NAMES,
  ofKind,
  prng,
  single,
  textMessage,
  TS,
  WA,
  WABA,
  wamid,
  type Json,
} from './parse-webhook.fixtures.js';
import { eventKey, NOT_ENVELOPE, parseWebhook } from './parse-webhook.js';

describe('parseWebhook: entries and changes', () => {
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
