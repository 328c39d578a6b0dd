import crypto from 'node:crypto';
import type { FakePerson } from './fake-person.js';

/** Cloud API webhook deliveries as Meta sends them (PROTOCOL.md "Webhooks"), for the simulated person. */

/** The WABA id the simulator claims; routing goes by phone_number_id. */
const SIM_WABA_ID = '199999999999900';

function wamid(): string {
  return `wamid.SIM${crypto.randomBytes(16).toString('hex').toUpperCase()}`;
}

function unixNow(): string {
  return String(Math.floor(Date.now() / 1000));
}

function envelope(phoneNumberId: string, parts: Record<string, unknown>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: SIM_WABA_ID,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550000000', phone_number_id: phoneNumberId },
              ...parts,
            },
          },
        ],
      },
    ],
  };
}

/** The person's contact card and two text messages, in one delivery. */
export function textDelivery(p: FakePerson, phoneNumberId: string, texts: [string, string]) {
  return envelope(phoneNumberId, {
    contacts: [{ profile: { name: p.name }, wa_id: p.waId }],
    messages: texts.map((body) => ({
      from: p.waId,
      id: wamid(),
      timestamp: unixNow(),
      type: 'text',
      text: { body },
    })),
  });
}

/** A Flow completion (`nfm_reply`) of a harmless booking Flow. */
export function bookingCompletion(p: FakePerson, phoneNumberId: string) {
  const response = {
    flow_token: `sim-booking-${crypto.randomBytes(8).toString('hex')}`,
    service: 'haircut',
    date: new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10),
    time: '10:30',
    party_size: 1,
  };
  return envelope(phoneNumberId, {
    contacts: [{ profile: { name: p.name }, wa_id: p.waId }],
    messages: [
      {
        from: p.waId,
        id: wamid(),
        timestamp: unixNow(),
        type: 'interactive',
        context: { from: '15550000000', id: wamid() },
        interactive: {
          type: 'nfm_reply',
          nfm_reply: { name: 'flow', body: 'Sent', response_json: JSON.stringify(response) },
        },
      },
    ],
  });
}
