import { expect } from 'vitest';
import { parseWebhook, type ParsedWebhook, type WebhookEvent } from './parse-webhook.js';

/**
 * Fake data and payload builders for the webhook parser's tests (parse-*.test.ts; excluded from the build like
 * the tests). Deterministic: 555-01xx numbers are reserved for fiction, BSUIDs come from a seeded generator.
 */

export function prng(seed: number): () => number {
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

export const WA = [fakeWaId(1), fakeWaId(2), fakeWaId(3), fakeWaId(4)] as const;
export const BS = [fakeBsuid(), fakeBsuid(), fakeBsuid('DE'), fakeBsuid('BR')] as const;
export const NAMES = ['Testy McFakeface', 'Erika Mustermann-Probe'] as const;
export const BODY_SECRET = 'my secret address is 1 Fake Street';
/** Values that must never appear in a rejection. */
const SECRETS = [...WA, ...WA.map((w) => `+${w}`), ...BS, ...NAMES, BODY_SECRET];

export const WABA = '102290129340398';
export const PNID = '106540352242922';
export const TS = '1767225600'; // 2026-01-01T00:00:00Z
export const wamid = (n: number) => `wamid.HBgLMTU1NTAxMDAwMDEVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMA${n}A=`;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const envelope = (...entries: Json[]): Json => ({
  object: 'whatsapp_business_account',
  entry: entries,
});
export const entry = (...changes: Json[]): Json => ({ id: WABA, changes });
export const change = (field: string, value: Json): Json => ({ field, value });
export const messagesValue = (parts: { contacts?: Json[]; messages?: Json[]; statuses?: Json[] }): Json => ({
  messaging_product: 'whatsapp',
  metadata: { display_phone_number: '15550783881', phone_number_id: PNID },
  ...parts,
});
export const contact = (wa?: string, bsuid?: string, name: string = NAMES[0]): Json => ({
  profile: { name },
  ...(wa ? { wa_id: wa } : {}),
  ...(bsuid ? { user_id: bsuid } : {}),
});
export const textMessage = (n: number, body: string, from: string = WA[0]): Json => ({
  from,
  id: wamid(n),
  timestamp: TS,
  type: 'text',
  text: { body },
});
export const single = (value: Json, field = 'messages') =>
  parseWebhook(envelope(entry(change(field, value))));
export const ofKind = <K extends WebhookEvent['kind']>(r: ParsedWebhook, kind: K) =>
  r.events.filter((e): e is Extract<WebhookEvent, { kind: K }> => e.kind === kind);

export function expectClean(r: ParsedWebhook): void {
  const text = JSON.stringify(r.rejected);
  for (const s of SECRETS) expect(text).not.toContain(s);
  expect(text).not.toMatch(/\d{8,}/);
}
