import { sql, type Kysely } from 'kysely';
import type { DB } from '../../../lib/db/schema.js';
import { AppError } from '../../../lib/errors.js';
import { getRequestView } from '../../dsr/index.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import type { RequestDetail } from '../api-shapes.js';
import { scopeTenant } from '../tenant-scope.js';

/** A request visible to the caller (its tenant, or any for a global admin), locked or not; else NOT_FOUND. */
export async function findScopedRequest(
  db: Kysely<DB>,
  principal: AdminPrincipal,
  requestId: string,
): Promise<{ id: string; tenant_id: string; subject_ref: string }> {
  const tenantId = scopeTenant(principal);
  let q = db
    .selectFrom('privacy_requests')
    .select(['id', 'tenant_id', 'subject_ref'])
    .where('id', '=', requestId);
  if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
  const row = await q.executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  return row;
}

/**
 * One request with its per-system tasks (status, attempts, counts, last error) and its audit timeline. Nothing
 * personal is in it, but it is a look at one person's case: audited (`admin.access` request/view, with the
 * request and subject reference) in the same transaction as the read.
 */
export async function viewRequest(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: AdminPrincipal,
  requestId: string,
): Promise<RequestDetail> {
  return deps.database.db.transaction().execute(async (tx) => {
    const row = await findScopedRequest(tx, principal, requestId);
    const view = await getRequestView(tx, row.tenant_id, row.id, deps.clock());
    const events = await tx
      .selectFrom('audit_log')
      .select([sql<string>`seq::text`.as('seq'), 'event_type', 'occurred_at', 'actor_type', 'data'])
      .where('request_id', '=', row.id)
      .orderBy('audit_log.seq')
      .execute();
    await deps.audit(tx, {
      tenantId: row.tenant_id,
      type: 'admin.access',
      actor: actorOf(principal),
      subject: { subjectRef: row.subject_ref },
      requestId: row.id,
      data: { resource: 'request', action: 'view' },
    });
    return {
      ...view,
      tenant: row.tenant_id,
      events: events.map((e) => ({
        seq: Number(e.seq),
        event_type: e.event_type,
        occurred_at: new Date(e.occurred_at).toISOString(),
        actor_type: e.actor_type,
        data: e.data,
      })),
    };
  });
}
