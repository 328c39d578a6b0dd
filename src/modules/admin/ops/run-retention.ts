import { AppError } from '../../../lib/errors.js';
import { RETENTION_QUEUE } from '../../retention/index.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { defaultTenantId } from '../tenant-scope.js';

/**
 * Start a retention sweep now: the same job the hourly schedule sends, queued for the workers (a sweep can run
 * for minutes; its lease keeps it to one at a time). The queue holds at most one waiting sweep, so a second
 * trigger while one waits is `queued: false`. The sweep covers every tenant: only a global admin may start it.
 * Audited (`admin.access` retention/run) in the transaction that queues it.
 */
export async function triggerRetention(
  deps: Pick<AdminDeps, 'database' | 'queue' | 'audit'>,
  principal: AdminPrincipal,
): Promise<{ queued: boolean; job_id: string | null }> {
  if (principal.tenantId !== undefined) {
    throw new AppError(
      'FORBIDDEN',
      { reason: 'tenant' },
      'retention covers every tenant: a global admin starts it',
    );
  }
  return deps.database.db.transaction().execute(async (tx) => {
    const jobId = await deps.queue.send(tx, RETENTION_QUEUE, { trigger: 'admin' });
    await deps.audit(tx, {
      tenantId: await defaultTenantId(tx),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'retention', action: 'run' },
    });
    return { queued: jobId !== null, job_id: jobId };
  });
}
