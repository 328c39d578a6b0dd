import type { z } from 'zod';
import { toE164 } from '../../lib/phone.js';
import {
  MEDIA_KINDS,
  WEBHOOK_LIMITS,
  buttonPartSchema,
  changeSchema,
  contactSchema,
  entrySchema,
  envelopeSchema,
  interactivePartSchema,
  mediaPartSchema,
  messageBaseSchema,
  metadataSchema,
  statusSchema,
  systemPartSchema,
  textPartSchema,
  userIdUpdateSchema,
  userPreferenceSchema,
  type ContactEvent,
  type FlowReply,
  type MediaKind,
  type MessageEvent,
  type ParsedWebhook,
  type PartyIds,
  type Rejection,
  type UnsupportedEvent,
  type UserIdUpdateEvent,
  type UserPreferenceEvent,
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

/**
 * Turns a signature-verified, JSON-parsed Cloud API webhook body into flat, normalised events.
 * Pure and total: never throws. Lenient per item: a malformed item lands in `rejected` (reason and JSON
 * path only, never a payload value) and the other items still come out.
 */

/** Opt-out keywords, compared after trim, whitespace collapse, NFC and upper-casing. */
// prettier-ignore
export const STOP_KEYWORDS = [
  'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPT OUT', 'OPTOUT', 'ARRET', 'ARRÊT', 'BAJA', 'ALTO',
] as const;

const STOP_SET: ReadonlySet<string> = new Set(STOP_KEYWORDS);

export function isStopKeyword(text: string): boolean {
  if (text.length > 64) return false;
  return STOP_SET.has(text.trim().replace(/\s+/g, ' ').normalize('NFC').toUpperCase());
}

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
const MAX_REJECTED = 200;

export interface ParseOptions {
  /** Attach `source` (change path, raw metadata, raw item) to every event, for the pass-through. */
  withSource?: boolean;
}

export function parseWebhook(body: unknown, opts: ParseOptions = {}): ParsedWebhook {
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

class Collector {
  readonly events: WebhookEvent[] = [];
  private readonly rejected: Rejection[] = [];
  private omitted = 0;

  constructor(private readonly withSource: boolean) {}

  /** Runs `fn` and, when sources are wanted, marks the events it produced as read from `item`. */
  sourced(change: string, metadata: unknown, item: unknown, fn: () => void): void {
    const before = this.events.length;
    fn();
    if (!this.withSource) return;
    for (let i = before; i < this.events.length; i++) {
      const event = this.events[i];
      if (event && event.source === undefined) event.source = { change, metadata, item };
    }
  }

  reject(reason: string, path: string): void {
    if (this.rejected.length < MAX_REJECTED) this.rejected.push({ reason, path });
    else this.omitted += 1;
  }

  rejectIssues(what: string, error: z.ZodError, path: string): void {
    const issue = error.issues[0];
    if (!issue) return this.reject(`${what}: invalid`, path);
    this.reject(`${what}: ${describeIssue(issue)}`, joinPath(path, issue.path));
  }

  /** Runs one item's parsing; an unexpected throw rejects that item only. */
  guard(path: string, fn: () => void): void {
    try {
      fn();
    } catch {
      this.reject('internal error while parsing item', path);
    }
  }

  result(): Rejection[] {
    if (this.omitted === 0) return this.rejected;
    return [...this.rejected, { reason: `${this.omitted} further rejections omitted`, path: '' }];
  }
}

/** Issue text built from the issue code only: zod messages are not reused (some could quote keys). */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'custom':
      return issue.message;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_big':
      return `too long (max ${String(issue.maximum)})`;
    case 'too_small':
      return 'too short';
    case 'invalid_format':
      return issue.message.startsWith('not ') ? issue.message : 'invalid format';
    case 'invalid_value':
      return 'unexpected value';
    case 'invalid_union':
      return 'no accepted shape';
    default:
      return issue.code;
  }
}

function joinPath(base: string, segments: readonly PropertyKey[]): string {
  let path = base;
  for (const s of segments) {
    if (typeof s === 'number') path += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(s)) path += `.${s}`;
    else path += '[?]';
  }
  return path;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
        sourced(item, () => userIdUpdate(out, wabaId, undefined, item, `${vPath}[${k}]`)),
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
        out.guard(p, () => sourced(item, () => userIdUpdate(out, wabaId, phoneNumberId, item, p)));
      });
    } else if (isRecord(updates))
      sourced(updates, () => userIdUpdate(out, wabaId, phoneNumberId, updates, `${vPath}.user_id_update`));
    else sourced(value, () => userIdUpdate(out, wabaId, phoneNumberId, value, vPath));
  }
}

interface ChangeCtx<P extends string | undefined = string | undefined> {
  out: Collector;
  wabaId: string;
  phoneNumberId: P;
  path: string;
  /** Path of the change and its raw metadata, for event sources. */
  change: string;
  metadata: unknown;
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

function parseContact(ctx: ChangeCtx, raw: unknown, path: string): void {
  const c = contactSchema.safeParse(raw);
  if (!c.success) return ctx.out.rejectIssues('contact rejected', c.error, path);
  const d = c.data;
  ctx.out.events.push(
    compact<ContactEvent>({
      kind: 'contact',
      wabaId: ctx.wabaId,
      phoneNumberId: ctx.phoneNumberId,
      phone: d.wa_id ?? undefined,
      bsuid: d.user_id ?? undefined,
      parentBsuid: d.parent_user_id ?? undefined,
      profileName: d.profile?.name ?? undefined,
      username: d.profile?.username ?? undefined,
    }),
  );
}

function parseMessage(ctx: ChangeCtx<string>, raw: unknown, path: string): void {
  const base = messageBaseSchema.safeParse(raw);
  if (!base.success) return ctx.out.rejectIssues('message rejected', base.error, path);
  const m = base.data;
  const msg = compact<MessageEvent>({
    kind: 'message',
    wabaId: ctx.wabaId,
    phoneNumberId: ctx.phoneNumberId,
    id: m.id,
    from: compact<PartyIds>({ phone: m.from ?? undefined, bsuid: m.from_user_id ?? undefined }),
    timestamp: m.timestamp,
    type: m.type,
    context: m.context ? compact({ id: m.context.id ?? undefined }) : undefined,
    isStopKeyword: false,
  });
  const part = isRecord(raw) ? raw[m.type] : undefined;
  const partPath = `${path}.${m.type}`;
  const fail = (error: z.ZodError) => ctx.out.rejectIssues('message rejected', error, partPath);

  if (m.type === 'text') {
    const t = textPartSchema.safeParse(part);
    if (!t.success) return fail(t.error);
    msg.text = t.data.body;
  } else if (m.type === 'button') {
    const b = buttonPartSchema.safeParse(part);
    if (!b.success) return fail(b.error);
    if (b.data.text != null) msg.text = b.data.text;
    if (b.data.payload != null) msg.replyId = b.data.payload;
  } else if (m.type === 'interactive') {
    const i = interactivePartSchema.safeParse(part);
    if (!i.success) return fail(i.error);
    const title = i.data.button_reply?.title ?? i.data.list_reply?.title;
    if (title != null) msg.text = title;
    const replyId = i.data.button_reply?.id ?? i.data.list_reply?.id;
    if (replyId != null) msg.replyId = replyId;
    if (i.data.type === 'nfm_reply' && i.data.nfm_reply)
      msg.flowReply = flowReply(i.data.nfm_reply.response_json);
  } else if (isMediaKind(m.type)) {
    const md = mediaPartSchema.safeParse(part);
    if (!md.success) return fail(md.error);
    const d = md.data;
    msg.media = compact<NonNullable<MessageEvent['media']>>({
      id: d.id,
      mimeType: d.mime_type ?? undefined,
      sha256: d.sha256 ?? undefined,
      caption: d.caption ?? undefined,
      kind: m.type,
    });
    if (d.caption != null) msg.caption = d.caption;
  } else if (m.type === 'system') {
    systemUpdate(ctx, part, partPath, m.from_user_id ?? undefined, m.timestamp);
  }
  if (msg.text !== undefined) msg.isStopKeyword = isStopKeyword(msg.text);
  ctx.out.events.push(msg);
}

function isMediaKind(type: string): type is MediaKind {
  return (MEDIA_KINDS as readonly string[]).includes(type);
}

function flowReply(responseJson: string): FlowReply {
  let parsed: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(responseJson);
    parsed = isRecord(value) ? value : undefined;
  } catch {
    parsed = undefined;
  }
  const token = parsed?.flow_token;
  const ok = typeof token === 'string' && token.length > 0 && token.length <= WEBHOOK_LIMITS.flowToken;
  return ok ? { responseJson, parsed, flowToken: token } : { responseJson, parsed };
}

/** A system message whose part carries a previous and a new BSUID also yields a `user_id_update`. */
function systemUpdate(
  ctx: ChangeCtx<string>,
  raw: unknown,
  path: string,
  fromBsuid: string | undefined,
  timestamp: Date,
): void {
  if (raw === undefined || raw === null) return;
  const s = systemPartSchema.safeParse(raw);
  if (!s.success) return ctx.out.rejectIssues('system details rejected', s.error, path);
  const d = s.data;
  const pair = typeof d.user_id === 'object' && d.user_id !== null ? d.user_id : undefined;
  const previous = pair?.previous ?? d.previous_user_id ?? undefined;
  const current =
    pair?.current ?? (typeof d.user_id === 'string' ? d.user_id : undefined) ?? d.new_user_id ?? fromBsuid;
  if (previous === undefined || current === undefined || previous === current) return;
  ctx.out.events.push(
    compact<UserIdUpdateEvent>({
      kind: 'user_id_update',
      wabaId: ctx.wabaId,
      phoneNumberId: ctx.phoneNumberId,
      previousBsuid: previous,
      currentBsuid: current,
      phone: d.wa_id ?? d.new_wa_id ?? undefined,
      timestamp,
    }),
  );
}

function parseStatus(ctx: ChangeCtx<string>, raw: unknown, path: string): void {
  const st = statusSchema.safeParse(raw);
  if (!st.success) return ctx.out.rejectIssues('status rejected', st.error, path);
  const d = st.data;
  let phone: string | undefined;
  if (d.recipient_id != null && d.recipient_type !== 'group') {
    phone = toE164(d.recipient_id);
    if (phone === undefined)
      return ctx.out.reject('status rejected: invalid phone number', `${path}.recipient_id`);
  }
  const errorCodes = (d.errors ?? []).flatMap((e) =>
    isRecord(e) && typeof e.code === 'number' && Number.isInteger(e.code) ? [e.code] : [],
  );
  ctx.out.events.push({
    kind: 'status',
    wabaId: ctx.wabaId,
    phoneNumberId: ctx.phoneNumberId,
    id: d.id,
    status: d.status,
    timestamp: d.timestamp,
    recipient: compact<PartyIds>({ phone, bsuid: d.recipient_user_id ?? undefined }),
    errorCodes,
  });
}

function parsePreference(ctx: ChangeCtx, raw: unknown, path: string): void {
  const p = userPreferenceSchema.safeParse(raw);
  if (!p.success) return ctx.out.rejectIssues('user preference rejected', p.error, path);
  const d = p.data;
  ctx.out.events.push(
    compact<UserPreferenceEvent>({
      kind: 'user_preference',
      wabaId: ctx.wabaId,
      phoneNumberId: ctx.phoneNumberId,
      phone: d.wa_id ?? undefined,
      bsuid: d.user_id ?? undefined,
      category: d.category ?? 'marketing_messages',
      value: d.value,
      timestamp: d.timestamp,
    }),
  );
}

function userIdUpdate(
  out: Collector,
  wabaId: string,
  phoneNumberId: string | undefined,
  raw: unknown,
  path: string,
): void {
  const u = userIdUpdateSchema.safeParse(raw);
  if (!u.success) return out.rejectIssues('user id update rejected', u.error, path);
  const d = u.data;
  if (d.previous === d.current) return;
  out.events.push(
    compact<UserIdUpdateEvent>({
      kind: 'user_id_update',
      wabaId,
      phoneNumberId,
      previousBsuid: d.previous,
      currentBsuid: d.current,
      phone: d.phone,
      timestamp: d.timestamp,
    }),
  );
}

/** Drops keys whose value is `undefined` so events carry no empty optional fields. */
function compact<T extends object>(obj: T): T {
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) result[k] = v;
  return result as T;
}
