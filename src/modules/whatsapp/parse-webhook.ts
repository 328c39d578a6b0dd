import { withPhoneMemo } from '../../lib/phone.js';
import { Collector, compact, isRecord, type ChangeCtx } from './parse-collector.js';
import { parseMessage } from './parse-message.js';
import { parseStatus } from './parse-status.js';
import { parseContact, parsePreference, parseUserIdUpdate } from './parse-user.js';
import {
  changeSchema,
  entrySchema,
  envelopeSchema,
  metadataSchema,
  type ParsedWebhook,
  type UnsupportedEvent,
  type WebhookEvent,
} from './webhook.schemas.js';

export type {
  ContactEvent,
  EventSource,
  FlowReply,
  MessageEvent,
  ParsedWebhook,
  PartyIds,
  Rejection,
  StatusEvent,
  UnsupportedEvent,
  UserIdUpdateEvent,
  UserPreferenceEvent,
  WebhookEvent,
} from './webhook.schemas.js';
export { STOP_KEYWORDS, isStopKeyword } from './parse-message.js';

/**
 * Turns a signature-verified, JSON-parsed Cloud API webhook body into flat, normalised events: this file walks
 * the envelope's entries and changes and hands each item to its parser (messages: parse-message.ts; statuses:
 * parse-status.ts; contacts, preferences and BSUID changes: parse-user.ts).
 * Pure and total: never throws. Lenient per item: a malformed item lands in `rejected` (reason and JSON
 * path only, never a payload value) and the other items still come out.
 */

/** Stable de-duplication key (raw ids; the ingest layer HMACs it). Undefined for idempotent upserts. */
export function eventKey(event: WebhookEvent): string | undefined {
  switch (event.kind) {
    case 'message':
      return `msg:${event.id}`;
    case 'status':
      return `status:${event.id}:${event.status}`;
    case 'user_preference': {
      const who = event.phone ?? event.bsuid ?? '';
      return `pref:${who}:${event.category}:${event.value}:${Math.floor(event.timestamp.getTime() / 1000)}`;
    }
    case 'user_id_update':
      return `uid:${event.previousBsuid}:${event.currentBsuid}`;
    case 'contact':
    case 'unsupported':
      return undefined;
  }
}

export const NOT_ENVELOPE = 'not a whatsapp_business_account envelope';

export interface ParseOptions {
  /** Attach `source` (change path, raw metadata, raw item) to every event, for the pass-through. */
  withSource?: boolean;
}

export function parseWebhook(body: unknown, opts: ParseOptions = {}): ParsedWebhook {
  return withPhoneMemo(() => parseEnvelope(body, opts));
}

function parseEnvelope(body: unknown, opts: ParseOptions): ParsedWebhook {
  const out = new Collector(opts.withSource ?? false);
  let isEnvelope = false;
  try {
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) return { isEnvelope, events: [], rejected: [{ reason: NOT_ENVELOPE, path: '' }] };
    isEnvelope = true;
    envelope.data.entry.forEach((entry, i) =>
      out.guard(`entry[${i}]`, () => parseEntry(out, entry, `entry[${i}]`)),
    );
  } catch {
    if (!isEnvelope) return { isEnvelope, events: [], rejected: [{ reason: NOT_ENVELOPE, path: '' }] };
    out.reject('internal error while parsing', '');
  }
  return { isEnvelope, events: out.events, rejected: out.result() };
}

function parseEntry(out: Collector, raw: unknown, path: string): void {
  const entry = entrySchema.safeParse(raw);
  if (!entry.success) return out.rejectIssues('entry rejected', entry.error, path);
  const wabaId = entry.data.id;
  entry.data.changes.forEach((change, j) => {
    const p = `${path}.changes[${j}]`;
    out.guard(p, () => parseChange(out, wabaId, change, p));
  });
}

function parseChange(out: Collector, wabaId: string, raw: unknown, path: string): void {
  const change = changeSchema.safeParse(raw);
  if (!change.success) return out.rejectIssues('change rejected', change.error, path);
  const { field, value } = change.data;
  const vPath = `${path}.value`;
  const metadata = isRecord(value) ? value.metadata : undefined;
  const sourced = (item: unknown, fn: () => void) => out.sourced(path, metadata, item, fn);
  const known = field === 'messages' || field === 'user_preferences' || field === 'user_id_update';
  if (!known) {
    out.events.push(
      compact<UnsupportedEvent>({
        kind: 'unsupported',
        field,
        wabaId,
        phoneNumberId: phoneNumberIdOf(value),
      }),
    );
    return;
  }
  if (field === 'user_id_update' && Array.isArray(value)) {
    value.forEach((item, k) =>
      out.guard(`${vPath}[${k}]`, () =>
        sourced(item, () => parseUserIdUpdate(out, wabaId, undefined, item, `${vPath}[${k}]`)),
      ),
    );
    return;
  }
  if (!isRecord(value)) return out.reject('change rejected: expected object', vPath);
  const phoneNumberId = phoneNumberIdOf(value);
  if (value.metadata !== undefined && phoneNumberId === undefined) {
    out.reject('metadata rejected: invalid phone_number_id', `${vPath}.metadata.phone_number_id`);
  }
  const ctx: ChangeCtx = { out, wabaId, phoneNumberId, path: vPath, change: path, metadata };
  eachItem(ctx, value.contacts, 'contacts', parseContact);
  if (field === 'messages') {
    if (phoneNumberId === undefined) {
      if (value.metadata === undefined)
        out.reject('change rejected: metadata.phone_number_id missing', vPath);
      return;
    }
    const withId = { ...ctx, phoneNumberId };
    eachItem(withId, value.messages, 'messages', parseMessage);
    eachItem(withId, value.statuses, 'statuses', parseStatus);
  } else if (field === 'user_preferences') {
    if (Array.isArray(value.user_preferences))
      eachItem(ctx, value.user_preferences, 'user_preferences', parsePreference);
    else if (isRecord(value.user_preferences)) {
      const item = value.user_preferences;
      sourced(item, () => parsePreference(ctx, item, `${vPath}.user_preferences`));
    } else sourced(value, () => parsePreference(ctx, value, vPath));
  } else {
    const updates = value.user_id_update;
    if (Array.isArray(updates)) {
      updates.forEach((item, k) => {
        const p = `${vPath}.user_id_update[${k}]`;
        out.guard(p, () => sourced(item, () => parseUserIdUpdate(out, wabaId, phoneNumberId, item, p)));
      });
    } else if (isRecord(updates))
      sourced(updates, () =>
        parseUserIdUpdate(out, wabaId, phoneNumberId, updates, `${vPath}.user_id_update`),
      );
    else sourced(value, () => parseUserIdUpdate(out, wabaId, phoneNumberId, value, vPath));
  }
}

function phoneNumberIdOf(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const meta = metadataSchema.safeParse(value.metadata);
  return meta.success ? meta.data.phone_number_id : undefined;
}

function eachItem<C extends ChangeCtx>(
  ctx: C,
  list: unknown,
  key: string,
  fn: (ctx: C, item: unknown, path: string) => void,
): void {
  if (list === undefined || list === null) return;
  const listPath = `${ctx.path}.${key}`;
  if (!Array.isArray(list)) return ctx.out.reject(`${key} rejected: expected array`, listPath);
  list.forEach((item, k) =>
    ctx.out.guard(`${listPath}[${k}]`, () =>
      ctx.out.sourced(ctx.change, ctx.metadata, item, () => fn(ctx, item, `${listPath}[${k}]`)),
    ),
  );
}
