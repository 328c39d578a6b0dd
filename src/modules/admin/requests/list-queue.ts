import { AppError } from '../../../lib/errors.js';
import { listRequests, type RequestSummary } from '../../dsr/index.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { eventTenant, scopeTenant } from '../tenant-scope.js';

export interface QueueFilter {
  tenant?: string | undefined;
  status?: string | undefined;
  type?: string | undefined;
  overdue?: boolean | undefined;
  due_before?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

const encodeCursor = (r: RequestSummary) => Buffer.from(`${r.due_at}|${r.id}`).toString('base64url');

function decodeCursor(cursor: string): { dueAt: Date; id: string } {
  const [due, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const dueAt = new Date(due ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(dueAt.getTime())) {
    throw new AppError('VALIDATION_FAILED', { field: 'cursor' }, 'cursor is not valid');
  }
  return { dueAt, id };
}

/**
 * The request queue, most urgent first, for the caller's tenant(s): filters by status, type, overdue and due
 * date, keyset-paged (`next_cursor`). The read is audited (`admin.access` request/list).
 */
export async function listQueue(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: AdminPrincipal,
  filter: QueueFilter,
): Promise<{ requests: RequestSummary[]; next_cursor: string | null }> {
  const tenantId = scopeTenant(principal, filter.tenant);
  const dueBefore = filter.due_before === undefined ? undefined : new Date(filter.due_before);
  if (dueBefore && Number.isNaN(dueBefore.getTime())) {
    throw new AppError('VALIDATION_FAILED', { field: 'due_before' }, 'due_before must be a date');
  }
  return deps.database.db.transaction().execute(async (tx) => {
    const rows = await listRequests(
      tx,
      {
        tenantId,
        status: filter.status,
        type: filter.type,
        overdue: filter.overdue,
        dueBefore,
        after: filter.cursor ? decodeCursor(filter.cursor) : undefined,
        limit: filter.limit + 1,
      },
      deps.clock(),
    );
    const page = rows.slice(0, filter.limit);
    await deps.audit(tx, {
      tenantId: tenantId ?? (await eventTenant(tx, principal)),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'request', action: 'list' },
    });
    return {
      requests: page,
      next_cursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]!) : null,
    };
  });
}
