import { describe, expect, it } from 'vitest';
import {
  BODY_SECRET,
  BS,
  contact,
  expectClean,
  messagesValue,
  NAMES,
  ofKind,
  PNID,
  single,
  textMessage,
  TS,
  WA,
  WABA,
  wamid,
  type Json,
} from './parse-webhook.fixtures.js';
import { isStopKeyword, STOP_KEYWORDS } from './parse-message.js';
import type { MessageEvent } from './parse-webhook.js';

describe('parseWebhook: messages', () => {
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
