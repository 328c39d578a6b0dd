import fc from 'fast-check';
import { mutated, poisoned } from './values.js';

/**
 * Cloud API webhook deliveries (PROTOCOL.md "Webhooks"): valid ones, from a small crowd of fake people so that
 * people recur (known subjects, duplicates, erasure echoes), then either one or two of their nodes replaced by
 * a wrong type, a hostile string, an odd phone number or user id, or deleted; or some of their strings made
 * hostile in place (NUL, lone surrogates, quotes), so that those reach the store. Contacts, text, media, Flow completions
 * carrying privacy payloads, replies, STOP keywords, system messages, statuses, preferences and user id updates.
 */

const WABA = '100000000000900';
/** Keys whose values decide whether an item is read at all (ids, types, identities, times). */
const STRUCTURAL = new Set([
  'object',
  'field',
  'messaging_product',
  'phone_number_id',
  'display_phone_number',
  'id',
  'type',
  'timestamp',
  'from',
  'from_user_id',
  'wa_id',
  'user_id',
  'previous_user_id',
  'previous',
  'current',
  'recipient_id',
  'status',
  'category',
  'value',
]);
const now = () => String(Math.floor(Date.now() / 1000));

const person = fc.record({
  digits: fc.integer({ min: 0, max: 299 }).map((n) => `1555019${String(n).padStart(4, '0')}`),
  bsuid: fc.integer({ min: 0, max: 299 }).map((n) => `US.fuzzperson${n}`),
  name: fc.constantFrom('Testperson Fuzz', "O'Fake; drop table subjects;--", 'Ünïcødé Tëst', '🙂 Test'),
  byBsuid: fc.boolean(),
});
type Person = typeof person extends fc.Arbitrary<infer P> ? P : never;

const wamid = fc
  .uint8Array({ minLength: 12, maxLength: 12 })
  .map((b) => `wamid.${Buffer.from(b).toString('hex')}`);

const from = (p: Person) => (p.byBsuid ? { from_user_id: p.bsuid } : { from: p.digits });

function message(p: Person) {
  const base = fc
    .record({ id: wamid, timestamp: fc.constant(null).map(now) })
    .map((b) => ({ ...from(p), ...b }));
  const privacy = fc.record(
    {
      action: fc.constantFrom('data_deletion_request', 'data_access_request', 'marketing_opt_out', 'booking'),
      scope: fc.constantFrom('all', 'messages', 'media', 'flow_responses', 'shoes'),
      user_id: fc.constantFrom(p.digits, `+${p.digits}`, p.bsuid, '15550199999'),
      flow_token: fc.constantFrom('compliance_prod_001', 'ft-unknown'),
    },
    { requiredKeys: ['action'] },
  );
  return fc.oneof(
    {
      arbitrary: fc
        .tuple(
          base,
          fc.constantFrom('hello', 'STOP', 'stop please', 'Unsubscribe', '+15550190000 is my number'),
        )
        .map(([b, body]) => ({ ...b, type: 'text', text: { body } })),
      weight: 2,
    },
    {
      arbitrary: fc
        .tuple(base, fc.constantFrom('image', 'document', 'audio', 'video', 'sticker'), wamid)
        .map(([b, kind, id]) => ({
          ...b,
          type: kind,
          [kind]: { id: id.slice(6, 22), mime_type: 'image/jpeg', sha256: 'c2hhMjU2', caption: 'a caption' },
        })),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(base, privacy).map(([b, payload]) => ({
        ...b,
        type: 'interactive',
        context: { from: '15550001234', id: 'wamid.context' },
        interactive: {
          type: 'nfm_reply',
          nfm_reply: { name: 'flow', body: 'Sent', response_json: JSON.stringify(payload) },
        },
      })),
      weight: 2,
    },
    fc.tuple(base, fc.constantFrom('button_reply', 'list_reply')).map(([b, kind]) => ({
      ...b,
      type: 'interactive',
      interactive: {
        type: kind,
        [kind]: { id: 'fg-confirm:00000000-0000-4000-8000-000000000000', title: 'Confirm' },
      },
    })),
    base.map((b) => ({ ...b, type: 'button', button: { text: 'STOP', payload: 'stop' } })),
    base.map((b) => ({
      ...b,
      type: 'system',
      system: {
        type: 'user_changed_user_id',
        user_id: `${p.bsuid}x`,
        previous_user_id: p.bsuid,
        body: 'changed',
      },
    })),
    base.map((b) => ({ ...b, type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '👍' } })),
  );
}

function messagesChange(p: Person, phoneNumberId: string) {
  const contact = { profile: { name: p.name }, wa_id: p.digits, ...(p.byBsuid ? { user_id: p.bsuid } : {}) };
  const status = fc.record({
    id: wamid,
    status: fc.constantFrom('sent', 'delivered', 'read', 'failed'),
    timestamp: fc.constant(null).map(now),
    recipient_id: fc.constant(p.digits),
    errors: fc.constantFrom([], [{ code: 131047, title: 'Re-engagement message' }]),
  });
  return fc
    .record({
      messages: fc.array(message(p), { maxLength: 2 }),
      statuses: fc.array(status, { maxLength: 1 }),
    })
    .map(({ messages, statuses }) => ({
      field: 'messages',
      value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15550001234', phone_number_id: phoneNumberId },
        contacts: [contact],
        messages,
        ...(statuses.length ? { statuses } : {}),
      },
    }));
}

function otherChange(p: Person, phoneNumberId: string) {
  const metadata = { display_phone_number: '15550001234', phone_number_id: phoneNumberId };
  return fc.oneof(
    fc.constantFrom('stop', 'resume').map((value) => ({
      field: 'user_preferences',
      value: {
        messaging_product: 'whatsapp',
        metadata,
        contacts: [{ profile: { name: p.name }, wa_id: p.digits }],
        user_preferences: [
          { wa_id: p.digits, detail: 'x', category: 'marketing_messages', value, timestamp: Number(now()) },
        ],
      },
    })),
    fc.constant({
      field: 'user_id_update',
      value: {
        metadata,
        user_id: { previous: p.bsuid, current: `${p.bsuid}n` },
        wa_id: p.digits,
        timestamp: now(),
      },
    }),
    fc.constant({ field: 'account_update', value: { event: 'VERIFIED_ACCOUNT' } }),
  );
}

/** A delivery for `phoneNumberId`, nearly valid, as JSON text. */
export function envelopeBody(phoneNumberId: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const change = fc
    .tuple(person, phoneNumberId, fc.nat({ max: 9 }))
    .chain(([p, id, kind]): fc.Arbitrary<{ field: string; value: unknown }> =>
      kind < 8 ? messagesChange(p, id) : otherChange(p, id),
    );
  const valid = change.map((c) => ({
    object: 'whatsapp_business_account',
    entry: [{ id: WABA, changes: [c] }],
  }));
  return fc
    .oneof(mutated(valid), { arbitrary: poisoned(valid, STRUCTURAL), weight: 2 })
    .map((e) => JSON.stringify(e));
}
