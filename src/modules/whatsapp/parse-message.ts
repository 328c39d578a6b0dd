import type { z } from 'zod';
import { compact, isRecord, type ChangeCtx } from './parse-collector.js';
import {
  MEDIA_KINDS,
  WEBHOOK_LIMITS,
  buttonPartSchema,
  interactivePartSchema,
  mediaPartSchema,
  messageBaseSchema,
  systemPartSchema,
  textPartSchema,
  type FlowReply,
  type MediaKind,
  type MessageEvent,
  type PartyIds,
  type UserIdUpdateEvent,
} from './webhook.schemas.js';

/**
 * An inbound message, by kind: its text, reply, media or Flow answer, whether it is an opt-out keyword, and the
 * BSUID change a system message announces.
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

export function parseMessage(ctx: ChangeCtx<string>, raw: unknown, path: string): void {
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
