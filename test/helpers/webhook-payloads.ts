import crypto from 'node:crypto';
import { sql } from 'kysely';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import type { Identity } from '../../src/lib/phone.js';
import { TEST_APP_SECRET, TEST_PHONE_NUMBER_ID, type TestApp, type fakePerson } from './test-app.js';

/** Builders for Cloud API webhook payloads (PROTOCOL.md "Webhooks"), signed like Meta signs them. */

export type Person = ReturnType<typeof fakePerson>;
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const TEST_WABA_ID = '100000000000900';

/** A wamid that, like Meta's, embeds the sender's digits: it must never be stored or logged as is. */
export function wamidFor(p: Person): string {
  return `wamid.HBgL${p.waId}FQIAEhgU${crypto.randomBytes(10).toString('hex').toUpperCase()}`;
}

export function unixNow(offsetSeconds = 0): string {
  return String(Math.floor(Date.now() / 1000) + offsetSeconds);
}

export function envelope(changes: { field?: string; value: Json }[], wabaId = TEST_WABA_ID): Json {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: wabaId, changes: changes.map((c) => ({ field: c.field ?? 'messages', value: c.value })) }],
  };
}

export function messagesValue(
  parts: { contacts?: Json[]; messages?: Json[]; statuses?: Json[]; user_preferences?: Json[] },
  phoneNumberId = TEST_PHONE_NUMBER_ID,
): { [k: string]: Json } {
  return {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550001234', phone_number_id: phoneNumberId },
    ...parts,
  };
}

/** A single `messages` change delivery. */
export function delivery(
  parts: Parameters<typeof messagesValue>[0],
  phoneNumberId = TEST_PHONE_NUMBER_ID,
): Json {
  return envelope([{ value: messagesValue(parts, phoneNumberId) }]);
}

export function contact(p: Person, ids: { phone?: boolean; bsuid?: boolean } = { phone: true }): Json {
  return {
    profile: { name: p.name },
    ...(ids.phone ? { wa_id: p.waId } : {}),
    ...(ids.bsuid ? { user_id: p.bsuid } : {}),
  };
}

export function sender(p: Person, ids: { phone?: boolean; bsuid?: boolean } = { phone: true }) {
  return {
    ...(ids.phone ? { from: p.waId } : {}),
    ...(ids.bsuid ? { from_user_id: p.bsuid } : {}),
  };
}

export function textMessage(
  p: Person,
  body: string,
  opts: { id?: string; bsuid?: boolean; phone?: boolean } = {},
) {
  return {
    ...sender(p, { phone: opts.phone ?? true, bsuid: opts.bsuid }),
    id: opts.id ?? wamidFor(p),
    timestamp: unixNow(),
    type: 'text',
    text: { body },
  } satisfies Json;
}

export function imageMessage(p: Person, media: { id: string; caption?: string; sha256?: string }) {
  return {
    from: p.waId,
    id: wamidFor(p),
    timestamp: unixNow(),
    type: 'image',
    image: {
      id: media.id,
      mime_type: 'image/jpeg',
      sha256: media.sha256 ?? crypto.randomBytes(32).toString('base64'),
      ...(media.caption ? { caption: media.caption } : {}),
    },
  } satisfies Json;
}

export function flowReplyMessage(p: Person, responseJson: string) {
  return {
    from: p.waId,
    id: wamidFor(p),
    timestamp: unixNow(),
    type: 'interactive',
    context: { from: '15550001234', id: `wamid.${crypto.randomBytes(12).toString('hex')}` },
    interactive: {
      type: 'nfm_reply',
      nfm_reply: { name: 'flow', body: 'Sent', response_json: responseJson },
    },
  } satisfies Json;
}

/** The response_json of a Privacy Center Flow completion asking for erasure (the seed's payload shape). */
export function deletionRequestJson(
  userId: string,
  opts: { scope?: string; flowToken?: string } = {},
): string {
  return JSON.stringify({
    action: 'data_deletion_request',
    user_id: userId,
    scope: opts.scope ?? 'all',
    flow_token: opts.flowToken ?? 'compliance_prod_001',
    timestamp: Math.floor(Date.now() / 1000),
  });
}

export function statusItem(p: Person, status: string, opts: { id?: string; errorCode?: number } = {}) {
  return {
    id: opts.id ?? wamidFor(p),
    status,
    timestamp: unixNow(),
    recipient_id: p.waId,
    ...(opts.errorCode !== undefined ? { errors: [{ code: opts.errorCode, title: 'x' }] } : {}),
  } satisfies Json;
}

/** POST a body to the webhook, signed with `secret` unless a raw signature (or none) is given. */
export async function postWebhook(
  t: TestApp,
  body: Json | string | Buffer,
  opts: { secret?: string; signature?: string | null } = {},
) {
  const raw = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const signature =
    opts.signature === undefined ? signMetaBody(raw, opts.secret ?? TEST_APP_SECRET) : opts.signature;
  return t.app.inject({
    method: 'POST',
    url: '/webhooks/whatsapp',
    payload: raw,
    headers: {
      'content-type': 'application/json',
      ...(signature !== null ? { 'x-hub-signature-256': signature } : {}),
    },
  });
}

export const phoneOf = (p: Person): Identity => ({ kind: 'phone', value: p.e164 });
export const bsuidOf = (p: Person, value = p.bsuid): Identity => ({ kind: 'bsuid', value });

/** Every row of every table of flowguard's schema (and the queue's job count), for before/after comparison. */
export async function snapshotTables(t: TestApp): Promise<Record<string, string[]>> {
  const db = t.ctx.database.db;
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(db);
  const out: Record<string, string[]> = {};
  for (const { table_name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table_name)}`.execute(db);
    out[table_name] = rows.rows.map((r) => JSON.stringify(r)).sort();
  }
  const jobs = await sql<{ n: string }>`select count(*)::text as n from pgboss.job`.execute(db);
  out['pgboss.job'] = [jobs.rows[0]?.n ?? '?'];
  return out;
}

/** Current value of flowguard_webhook_events_total{type, outcome}. */
export async function webhookEventCount(t: TestApp, type: string, outcome: string): Promise<number> {
  const metric = await t.ctx.metrics.webhookEvents.get();
  return metric.values.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value ?? 0;
}
