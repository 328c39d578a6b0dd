import { toE164 } from '../../lib/phone.js';
import { compact, isRecord, type ChangeCtx } from './parse-collector.js';
import { statusSchema, type PartyIds } from './webhook.schemas.js';

/** A delivery status of an outbound message: sent, delivered, read or failed (with Meta's error codes). */
export function parseStatus(ctx: ChangeCtx<string>, raw: unknown, path: string): void {
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
