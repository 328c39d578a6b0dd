import { z } from 'zod';
import { isBsuid, toE164 } from '../../lib/phone.js';

/**
 * Input shapes of the WhatsApp Cloud API webhook (see PROTOCOL.md "Webhooks (Cloud API)").
 * Objects strip unknown keys (never `strict`: an unrecognized-keys issue would echo payload keys),
 * optional fields accept `null` as absent, identities come out normalised (E.164 phone, checked BSUID).
 * Every custom issue message here is a fixed string: no payload value ever reaches an issue.
 */

/** Lengths are in UTF-16 code units (JavaScript string length). */
export const WEBHOOK_LIMITS = {
  text: 64 * 1024,
  responseJson: 1024 * 1024,
  id: 512,
  profileName: 1024,
  username: 256,
  mimeType: 255,
  sha256: 256,
  flowToken: 4096,
  name: 64,
  rawIdentity: 256,
  errorsPerStatus: 100,
} as const;

/**
 * Meta's snake_case machine names: change fields, message/interactive/system types, statuses, categories.
 * Kept strict (must start with a letter) so such a name can never smuggle a number or free text.
 */
export const nameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'not a snake_case name');

/** Graph API numeric ids: WABA id, phone_number_id. */
export const graphIdSchema = z.string().regex(/^\d{1,64}$/, 'not a numeric id');

/** wamid / media id: printable ASCII without spaces. */
export const opaqueIdSchema = z
  .string()
  .max(WEBHOOK_LIMITS.id)
  .regex(/^[\x21-\x7e]+$/, 'not an opaque id (printable ASCII, no spaces)');

export const phoneSchema = z
  .string()
  .max(WEBHOOK_LIMITS.rawIdentity)
  .transform((raw, ctx) => {
    const e164 = toE164(raw);
    if (e164 === undefined) {
      ctx.addIssue({ code: 'custom', message: 'invalid phone number' });
      return z.NEVER;
    }
    return e164;
  });

export const bsuidSchema = z
  .string()
  .max(WEBHOOK_LIMITS.rawIdentity)
  .refine(isBsuid, 'invalid business-scoped user id');

/** Unix seconds, as Meta's string or (leniently) a number. */
export const unixTimeSchema = z
  .union([
    z.string().regex(/^\d{1,11}$/, 'not unix seconds'),
    z.number().int().nonnegative().max(99_999_999_999),
  ])
  .transform((v) => new Date(Number(v) * 1000));

export const textSchema = z.string().max(WEBHOOK_LIMITS.text);

export const envelopeSchema = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(z.unknown()),
});

export const entrySchema = z.object({
  id: graphIdSchema,
  changes: z.array(z.unknown()),
});

export const changeSchema = z.object({
  field: nameSchema,
  value: z.unknown(),
});

export const metadataSchema = z.object({
  phone_number_id: graphIdSchema,
});

export const contactSchema = z
  .object({
    wa_id: phoneSchema.nullish(),
    user_id: bsuidSchema.nullish(),
    parent_user_id: bsuidSchema.nullish(),
    profile: z
      .object({
        name: z.string().max(WEBHOOK_LIMITS.profileName).nullish(),
        username: z.string().max(WEBHOOK_LIMITS.username).nullish(),
      })
      .nullish(),
  })
  .refine((c) => c.wa_id != null || c.user_id != null, 'contact has neither wa_id nor user_id');

export const messageBaseSchema = z
  .object({
    id: opaqueIdSchema,
    from: phoneSchema.nullish(),
    from_user_id: bsuidSchema.nullish(),
    timestamp: unixTimeSchema,
    type: nameSchema,
    context: z.object({ id: opaqueIdSchema.nullish() }).nullish(),
  })
  .refine((m) => m.from != null || m.from_user_id != null, 'message has neither from nor from_user_id');

export const textPartSchema = z.object({ body: textSchema });

export const buttonPartSchema = z.object({
  text: textSchema.nullish(),
  payload: z.string().max(256).nullish(),
});

const replySchema = z.object({ id: z.string().max(256).nullish(), title: textSchema.nullish() }).nullish();

export const interactivePartSchema = z
  .object({
    type: nameSchema,
    button_reply: replySchema,
    list_reply: replySchema,
    nfm_reply: z.object({ response_json: z.string().max(WEBHOOK_LIMITS.responseJson) }).nullish(),
  })
  .refine((i) => i.type !== 'nfm_reply' || i.nfm_reply != null, {
    message: 'nfm_reply without response_json',
    path: ['nfm_reply'],
  });

export const MEDIA_KINDS = ['image', 'document', 'audio', 'video', 'sticker'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** `type/subtype` with optional parameters (`audio/ogg; codecs=opus`), printable ASCII only (RFC 6838). */
const MEDIA_TYPE = /^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*(?:\s*;\s*[\x20-\x7e]*)?$/;

/**
 * A media type is kept in plaintext (it is not personal data), so only a real one is: anything else (control
 * characters, NUL, which PostgreSQL text cannot hold) is dropped and the media kept without a type.
 */
const mimeTypeSchema = z.string().max(WEBHOOK_LIMITS.mimeType).regex(MEDIA_TYPE).nullish().catch(undefined);

export const mediaPartSchema = z.object({
  id: opaqueIdSchema,
  mime_type: mimeTypeSchema,
  sha256: z.string().max(WEBHOOK_LIMITS.sha256).nullish(),
  caption: textSchema.nullish(),
});

/** `user_id` either a BSUID string or `{previous, current}` (both readings seen; UNCONFIRMED). */
const userIdFieldSchema = z.union([z.object({ previous: bsuidSchema, current: bsuidSchema }), bsuidSchema]);

/**
 * System message (`type:"system"`): `user_changed_number` (`wa_id` / legacy `new_wa_id` = new phone) and
 * `user_changed_user_id`; since 2026 both may carry `previous_user_id` beside the new `user_id`.
 * The `body` holds names and numbers and is deliberately not read.
 */
export const systemPartSchema = z.object({
  type: nameSchema.nullish(),
  wa_id: phoneSchema.nullish(),
  new_wa_id: phoneSchema.nullish(),
  user_id: userIdFieldSchema.nullish(),
  new_user_id: bsuidSchema.nullish(),
  previous_user_id: bsuidSchema.nullish(),
});

export const statusSchema = z.object({
  id: opaqueIdSchema,
  status: nameSchema,
  timestamp: unixTimeSchema,
  recipient_id: z.string().max(WEBHOOK_LIMITS.rawIdentity).nullish(),
  recipient_user_id: bsuidSchema.nullish(),
  recipient_type: nameSchema.nullish(),
  errors: z.array(z.unknown()).max(WEBHOOK_LIMITS.errorsPerStatus).nullish(),
});

export const userPreferenceSchema = z
  .object({
    wa_id: phoneSchema.nullish(),
    user_id: bsuidSchema.nullish(),
    category: nameSchema.nullish(),
    value: z
      .string()
      .max(16)
      .transform((s) => s.trim().toLowerCase())
      .pipe(z.enum(['stop', 'resume'])),
    timestamp: unixTimeSchema,
  })
  .refine((p) => p.wa_id != null || p.user_id != null, 'preference has neither wa_id nor user_id');

export const userIdUpdateSchema = z
  .object({
    wa_id: phoneSchema.nullish(),
    user_id: userIdFieldSchema.nullish(),
    previous_user_id: bsuidSchema.nullish(),
    current_user_id: bsuidSchema.nullish(),
    timestamp: unixTimeSchema.nullish(),
  })
  .transform((v, ctx) => {
    const pair = typeof v.user_id === 'object' && v.user_id !== null ? v.user_id : undefined;
    const previous = pair?.previous ?? v.previous_user_id ?? undefined;
    const current =
      pair?.current ?? (typeof v.user_id === 'string' ? v.user_id : undefined) ?? v.current_user_id;
    if (previous == null || current == null) {
      ctx.addIssue({ code: 'custom', message: 'user id update without previous and current user id' });
      return z.NEVER;
    }
    return {
      previous,
      current,
      phone: v.wa_id ?? undefined,
      timestamp: v.timestamp ?? undefined,
    };
  });

// ---------- output: normalised events ----------

export interface PartyIds {
  /** E.164. */
  phone?: string;
  /** Business-scoped user id. */
  bsuid?: string;
}

/**
 * Where an event came from, attached only when `parseWebhook(body, { withSource: true })` is asked for it (the
 * pass-through needs Meta's own item shape). Holds raw payload values: never log it.
 */
export interface EventSource {
  /** JSON path of the change (`entry[0].changes[1]`): groups the events of one change. */
  change: string;
  /** The change value's `metadata` object as received (undefined when absent). */
  metadata: unknown;
  /** The raw item the event was read from (contact, message, status, preference, update). */
  item: unknown;
}

interface Base {
  wabaId: string;
  /** `metadata.phone_number_id` of the change; always present on messages and statuses. */
  phoneNumberId?: string;
  /** Only with `withSource`. */
  source?: EventSource;
}

export interface ContactEvent extends Base, PartyIds {
  kind: 'contact';
  parentBsuid?: string;
  profileName?: string;
  username?: string;
}

export interface FlowReply {
  /** Raw `response_json` string. */
  responseJson: string;
  /** `JSON.parse(responseJson)` when that is an object (not an array). */
  parsed: Record<string, unknown> | undefined;
  flowToken?: string;
}

export interface MessageEvent extends Base {
  kind: 'message';
  phoneNumberId: string;
  id: string;
  from: PartyIds;
  timestamp: Date;
  type: string;
  /** `text.body`, `button.text`, or the interactive button/list reply title. */
  text?: string;
  /** The id of the reply button or list row the person tapped (`button.payload` for template buttons). */
  replyId?: string;
  caption?: string;
  media?: { id: string; mimeType?: string; sha256?: string; caption?: string; kind: MediaKind };
  flowReply?: FlowReply;
  context?: { id?: string };
  isStopKeyword: boolean;
}

export interface StatusEvent extends Base {
  kind: 'status';
  phoneNumberId: string;
  id: string;
  status: string;
  timestamp: Date;
  recipient: PartyIds;
  errorCodes: number[];
}

export interface UserPreferenceEvent extends Base, PartyIds {
  kind: 'user_preference';
  category: string;
  value: 'stop' | 'resume';
  timestamp: Date;
}

export interface UserIdUpdateEvent extends Base {
  kind: 'user_id_update';
  previousBsuid: string;
  currentBsuid: string;
  /** E.164, when the update carries one (the user's current phone). */
  phone?: string;
  timestamp?: Date;
}

export interface UnsupportedEvent extends Base {
  kind: 'unsupported';
  field: string;
}

export type WebhookEvent =
  ContactEvent | MessageEvent | StatusEvent | UserPreferenceEvent | UserIdUpdateEvent | UnsupportedEvent;

export interface Rejection {
  /** Fixed wording from the parser or schema; never contains payload values. */
  reason: string;
  /** JSON path such as `entry[0].changes[1].value.messages[2].from`. */
  path: string;
}

export interface ParsedWebhook {
  /** The body was `{object:'whatsapp_business_account', entry:[...]}`. */
  isEnvelope: boolean;
  events: WebhookEvent[];
  rejected: Rejection[];
}
