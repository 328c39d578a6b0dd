import { compact, type ChangeCtx, type Collector } from './parse-collector.js';
import {
  contactSchema,
  userIdUpdateSchema,
  userPreferenceSchema,
  type ContactEvent,
  type UserIdUpdateEvent,
  type UserPreferenceEvent,
} from './webhook.schemas.js';

/**
 * What a change says about the person rather than a message: their contact card, a marketing preference, a new
 * BSUID.
 */

/** The change's ids and the person's: their phone number and/or BSUID, as the item names them. */
function about(ctx: ChangeCtx, item: { wa_id?: string | null; user_id?: string | null }) {
  return {
    wabaId: ctx.wabaId,
    phoneNumberId: ctx.phoneNumberId,
    phone: item.wa_id ?? undefined,
    bsuid: item.user_id ?? undefined,
  };
}

/** A contact card: phone number and/or BSUID, profile name and username. */
export function parseContact(ctx: ChangeCtx, raw: unknown, path: string): void {
  const c = contactSchema.safeParse(raw);
  if (!c.success) return ctx.out.rejectIssues('contact rejected', c.error, path);
  const d = c.data;
  ctx.out.events.push(
    compact<ContactEvent>({
      kind: 'contact',
      ...about(ctx, d),
      parentBsuid: d.parent_user_id ?? undefined,
      profileName: d.profile?.name ?? undefined,
      username: d.profile?.username ?? undefined,
    }),
  );
}

/** A `user_preferences` item: marketing messages stopped or resumed. */
export function parsePreference(ctx: ChangeCtx, raw: unknown, path: string): void {
  const p = userPreferenceSchema.safeParse(raw);
  if (!p.success) return ctx.out.rejectIssues('user preference rejected', p.error, path);
  const d = p.data;
  ctx.out.events.push(
    compact<UserPreferenceEvent>({
      kind: 'user_preference',
      ...about(ctx, d),
      category: d.category ?? 'marketing_messages',
      value: d.value,
      timestamp: d.timestamp,
    }),
  );
}

/** A `user_id_update` item: the person's BSUID changed (an unchanged pair yields nothing). */
export function parseUserIdUpdate(
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
