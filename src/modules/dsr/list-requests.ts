import type { Kysely } from 'kysely';
import type { DB, PrivacyRequestStatus } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { OPEN_STATUSES } from './dsr.repo.js';
import { REQUEST_STATUSES, REQUEST_TYPES, type RequestSummary } from './request-shapes.js';

/** Typed against the schema: a status the table cannot hold fails to compile. */
const STATUSES: readonly PrivacyRequestStatus[] = REQUEST_STATUSES;

export interface ListRequestsFilter {
  /** Undefined: every tenant (the operator's CLI); the API always passes the key's tenant. */
  tenantId?: string | undefined;
  status?: string | undefined;
  type?: string | undefined;
  /** Only open requests past their due date. */
  overdue?: boolean | undefined;
  /** Only requests due before this time. */
  dueBefore?: Date | undefined;
  /** Keyset paging: requests after this one in the queue's order (due_at, id). */
  after?: { dueAt: Date; id: string } | undefined;
  limit?: number | undefined;
}

const isOpen = (status: string) => (OPEN_STATUSES as string[]).includes(status);

/** The request queue, most urgent first (earliest due date): ids, enums and times only. */
export async function listRequests(
  db: Kysely<DB>,
  filter: ListRequestsFilter,
  now: Date,
): Promise<RequestSummary[]> {
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new AppError('VALIDATION_FAILED', { field: 'limit' }, 'limit must be an integer from 1 to 1000');
  }
  if (filter.status !== undefined && !(STATUSES as readonly string[]).includes(filter.status)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'status' },
      `status must be one of ${STATUSES.join(', ')}`,
    );
  }
  if (filter.type !== undefined && !(REQUEST_TYPES as readonly string[]).includes(filter.type)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'type' },
      `type must be one of ${REQUEST_TYPES.join(', ')}`,
    );
  }
  let q = db
    .selectFrom('privacy_requests')
    .select([
      'id',
      'reference',
      'tenant_id',
      'type',
      'scope',
      'channel',
      'status',
      'received_at',
      'due_at',
      'original_due_at',
      'completed_at',
    ]);
  if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
  if (filter.status !== undefined) q = q.where('status', '=', filter.status as PrivacyRequestStatus);
  if (filter.type !== undefined) q = q.where('type', '=', filter.type as (typeof REQUEST_TYPES)[number]);
  if (filter.overdue) q = q.where('status', 'in', OPEN_STATUSES).where('due_at', '<', now);
  if (filter.dueBefore) q = q.where('due_at', '<', filter.dueBefore);
  const after = filter.after;
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb('due_at', '>', after.dueAt),
        eb.and([eb('due_at', '=', after.dueAt), eb('id', '>', after.id)]),
      ]),
    );
  }
  const rows = await q.orderBy('due_at').orderBy('id').limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    reference: r.reference,
    tenant: r.tenant_id,
    type: r.type,
    scope: r.scope,
    channel: r.channel,
    status: r.status,
    received_at: new Date(r.received_at).toISOString(),
    due_at: new Date(r.due_at).toISOString(),
    overdue: isOpen(r.status) && new Date(r.due_at) < now,
    extended: new Date(r.due_at).getTime() !== new Date(r.original_due_at).getTime(),
    completed_at: r.completed_at ? new Date(r.completed_at).toISOString() : null,
  }));
}

/** Open requests by status and overdue ones by type, for the metrics gauges (zero-filled). */
export async function countOpenRequests(
  db: Kysely<DB>,
  now: Date,
): Promise<{ openByStatus: Record<string, number>; overdueByType: Record<string, number> }> {
  const open = await db
    .selectFrom('privacy_requests')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', 'in', OPEN_STATUSES)
    .groupBy('status')
    .execute();
  const overdue = await db
    .selectFrom('privacy_requests')
    .select(['type', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', 'in', OPEN_STATUSES)
    .where('due_at', '<', now)
    .groupBy('type')
    .execute();
  const openByStatus = Object.fromEntries(OPEN_STATUSES.map((s) => [s, 0]));
  for (const r of open) openByStatus[r.status] = Number(r.n);
  const overdueByType = Object.fromEntries(REQUEST_TYPES.map((t) => [t, 0]));
  for (const r of overdue) overdueByType[r.type] = Number(r.n);
  return { openByStatus, overdueByType };
}
