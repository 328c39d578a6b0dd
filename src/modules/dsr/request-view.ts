import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { createDsrRepo } from './dsr.repo.js';
import type { RequestView } from './request-shapes.js';

const repo = createDsrRepo();

/** The public shape of a request (API, CLI, status page): ids, enums, times and counts only. */
export async function getRequestView(
  db: Kysely<DB>,
  tenantId: string | undefined,
  id: string,
  now: Date,
): Promise<RequestView> {
  const r = await repo.findById(db, tenantId, id);
  if (!r) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  const tasks = await repo.tasks(db, id);
  const open = !['completed', 'failed', 'denied'].includes(r.status);
  return {
    id: r.id,
    reference: r.reference,
    type: r.type,
    scope: r.scope,
    channel: r.channel,
    status: r.status,
    regime: r.regime,
    verification: r.verification,
    received_at: new Date(r.received_at).toISOString(),
    verified_at: r.verified_at ? new Date(r.verified_at).toISOString() : null,
    due_at: new Date(r.due_at).toISOString(),
    overdue: open && new Date(r.due_at) < now,
    extended: new Date(r.due_at).getTime() !== new Date(r.original_due_at).getTime(),
    completed_at: r.completed_at ? new Date(r.completed_at).toISOString() : null,
    error_code: r.error_code,
    systems: tasks.map((t) => ({
      id: t.system_id,
      action: t.action,
      status: t.status,
      attempts: t.attempts,
      counts: t.counts,
      last_error: t.last_error,
      completed_at: t.completed_at ? new Date(t.completed_at).toISOString() : null,
    })),
  };
}
