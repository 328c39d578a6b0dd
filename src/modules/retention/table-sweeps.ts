import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { RetentionConfig } from '../../config/retention.js';
import type { DB } from '../../lib/db/schema.js';
import type { BatchSweep } from './sweep-batches.js';

/**
 * The plain categories of flowguard's own store: rows of one table past an age, removed by primary key in
 * batches (`delete ... where pk in (select pk ... limit N for update skip locked)`: rows another transaction
 * holds are skipped, never waited for), or, for message content, cleared in place.
 */

interface TableSpec {
  table: keyof DB & string;
  /** Primary key columns. */
  keys: string[];
  /** Expired rows. */
  where: RawBuilder<boolean>;
  /** Clear columns instead of deleting the row. */
  set?: RawBuilder<unknown>;
}

export function tableSweep(db: Kysely<DB>, spec: TableSpec): BatchSweep {
  const table = sql.table(spec.table);
  const keys = sql.join(spec.keys.map((k) => sql.ref(k)));
  return {
    async count() {
      const r = await sql<{
        n: string;
      }>`select count(*)::text as n from ${table} where ${spec.where}`.execute(db);
      return Number(r.rows[0]?.n ?? 0);
    },
    async batch(limit) {
      const pick = sql`(${keys}) in (select ${keys} from ${table} where ${spec.where} limit ${sql.lit(limit)} for update skip locked)`;
      const r = spec.set
        ? await sql`update ${table} set ${spec.set} where ${pick}`.execute(db)
        : await sql`delete from ${table} where ${pick}`.execute(db);
      return Number(r.numAffectedRows ?? 0n);
    },
  };
}

const ago = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000);
const ENDED = sql.join(['completed', 'failed', 'denied'].map((s) => sql.lit(s)));

export interface TenantRetention {
  id: string;
  storeMessageContent: boolean;
  /** Days erased identities are kept for re-engagement; undefined when the tenant does not track it. */
  reengagementDays: number | undefined;
}

/** Each plain category's table and predicate, at `now` under `policy`. */
export function plainCategories(
  db: Kysely<DB>,
  policy: RetentionConfig['days'],
  now: Date,
  tenants: TenantRetention[],
): Record<string, BatchSweep> {
  const before = (days: number) => sql.val(ago(now, days));
  const noContent = tenants.filter((t) => !t.storeMessageContent).map((t) => sql.val(t.id));
  const tracking = tenants.filter((t) => t.reengagementDays !== undefined);
  const erasedExpired = tracking.length
    ? sql<boolean>`(${sql.join(
        tracking.map((t) => sql`(tenant_id = ${t.id} and erased_at < ${before(t.reengagementDays ?? 0)})`),
        sql` or `,
      )} or tenant_id not in (${sql.join(tracking.map((t) => sql.val(t.id)))}))`
    : sql<boolean>`true`;
  const t = (spec: TableSpec) => tableSweep(db, spec);
  return {
    processed_events: t({
      table: 'processed_events',
      keys: ['tenant_id', 'event_key'],
      where: sql`processed_at < ${before(policy.processed_events)}`,
    }),
    outbound_notifications: t({
      table: 'outbound_notifications',
      keys: ['id'],
      where: sql`created_at < ${before(policy.outbound_notifications)}`,
    }),
    alerts_sent: t({
      table: 'alerts_sent',
      keys: ['subject_key', 'kind'],
      where: sql`sent_at < ${before(policy.alerts_sent)}`,
    }),
    request_exports: t({
      table: 'request_exports',
      keys: ['request_id', 'system_id'],
      where: sql`expires_at < ${before(policy.request_exports)}`,
    }),
    flow_tokens: t({
      table: 'flow_tokens',
      keys: ['id'],
      where: sql`expires_at < ${before(policy.flow_tokens)}`,
    }),
    delivery_statuses: t({
      table: 'message_statuses',
      keys: ['id'],
      where: sql`created_at < ${before(policy.delivery_statuses)}`,
    }),
    media: t({ table: 'media', keys: ['id'], where: sql`received_at < ${before(policy.media)}` }),
    message_content: t({
      table: 'messages',
      keys: ['id'],
      where: noContent.length
        ? sql`content is not null and (created_at < ${before(policy.message_content)} or tenant_id in (${sql.join(noContent)}))`
        : sql`content is not null and created_at < ${before(policy.message_content)}`,
      set: sql`content = null`,
    }),
    messages: t({ table: 'messages', keys: ['id'], where: sql`created_at < ${before(policy.messages)}` }),
    flow_responses: t({
      table: 'flow_responses',
      keys: ['id'],
      where: sql`received_at < ${before(policy.flow_responses)}`,
    }),
    pending_forwards: t({
      table: 'forward_outbox',
      keys: ['id'],
      where: sql`created_at < ${before(policy.pending_forwards)}`,
    }),
    erased_identities: t({
      table: 'erased_identities',
      keys: ['tenant_id', 'blind_index'],
      where: erasedExpired,
    }),
    request_records: t({
      table: 'privacy_requests',
      keys: ['id'],
      where: sql`status in (${ENDED}) and coalesce(completed_at, updated_at) < ${before(policy.request_records)}`,
    }),
  };
}
