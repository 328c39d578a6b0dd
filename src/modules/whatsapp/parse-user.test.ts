import { describe, expect, it } from 'vitest';
import {
  BS,
  change,
  contact,
  entry,
  envelope,
  expectClean,
  messagesValue,
  NAMES,
  ofKind,
  PNID,
  single,
  TS,
  WA,
  WABA,
  wamid,
} from './parse-webhook.fixtures.js';
import { eventKey, parseWebhook } from './parse-webhook.js';

describe('parseWebhook: contacts', () => {
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
});
