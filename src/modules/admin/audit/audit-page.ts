import { sql } from 'kysely';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { eventTenant, scopeTenant } from '../tenant-scope.js';

export interface AuditRow {
  seq: number;
  id: string;
  tenant: string;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  event_type: string;
  subject_ref: string | null;
  request_id: string | null;
  data: Record<string, unknown>;
  hash: string;
}

export interface AuditPageQuery {
  tenant?: string | undefined;
  event_type?: string | undefined;
  request_id?: string | undefined;
  /** Rows with seq below this one (newest first); the previous page's `next_before`. */
  before?: number | undefined;
  limit: number;
}

/**
 * A page of the audit log, newest first, for the caller's tenant(s): ids, enums, counts and keyed subject
 * references only (the catalog allows nothing else). The read itself is audited (`admin.access` audit_log/list).
 */
export async function auditPage(
  deps: Pick<AdminDeps, 'database' | 'audit'>,
  principal: AdminPrincipal,
  query: AuditPageQuery,
): Promise<{ events: AuditRow[]; next_before: number | null }> {
  const tenantId = scopeTenant(principal, query.tenant);
  return deps.database.db.transaction().execute(async (tx) => {
    let q = tx
      .selectFrom('audit_log')
      .select([
        sql<string>`seq::text`.as('seq'),
        'id',
        'tenant_id',
        'occurred_at',
        'actor_type',
        'actor_id',
        'event_type',
        'subject_ref',
        'request_id',
        'data',
        'hash',
      ]);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    if (query.event_type !== undefined) q = q.where('event_type', '=', query.event_type);
    if (query.request_id !== undefined) q = q.where('request_id', '=', query.request_id);
    if (query.before !== undefined) q = q.where(sql<boolean>`audit_log.seq < ${query.before}::bigint`);
    const rows = await q
      .orderBy('audit_log.seq', 'desc')
      .limit(query.limit + 1)
      .execute();
    const page = rows.slice(0, query.limit);
    await deps.audit(tx, {
      tenantId: tenantId ?? (await eventTenant(tx, principal)),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'audit_log', action: 'list' },
    });
    return {
      events: page.map((r) => ({
        seq: Number(r.seq),
        id: r.id,
        tenant: r.tenant_id,
        occurred_at: new Date(r.occurred_at).toISOString(),
        actor_type: r.actor_type,
        actor_id: r.actor_id,
        event_type: r.event_type,
        subject_ref: r.subject_ref,
        request_id: r.request_id,
        data: r.data,
        hash: r.hash,
      })),
      next_before: rows.length > query.limit ? Number(page[page.length - 1]!.seq) : null,
    };
  });
}
