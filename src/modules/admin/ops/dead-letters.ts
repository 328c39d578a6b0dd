import { AppError } from '../../../lib/errors.js';
import { listDeadLetters, retryDeadLetter, type DeadLetter } from '../../dlq/dead-letters.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { eventTenant, scopeTenant } from '../tenant-scope.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Dead letters the caller may see: the dead-letter module scopes letters that name a request by the request's
 * tenant; letters that name a tenant directly (pass-through drains) are scoped here too.
 */
async function visibleLetters(
  deps: Pick<AdminDeps, 'database'>,
  tenantId: string | undefined,
  limit: number,
) {
  const letters = await listDeadLetters(deps.database.db, { tenantId, limit });
  return tenantId === undefined
    ? letters
    : letters.filter((l) => typeof l.data.tenantId !== 'string' || l.data.tenantId === tenantId);
}

/** What waits in the dead-letter queues (job payloads hold ids only); the read is audited. */
export async function listAdminDeadLetters(
  deps: Pick<AdminDeps, 'database' | 'audit'>,
  principal: AdminPrincipal,
  opts: { tenant?: string | undefined; limit: number },
): Promise<{ dead_letters: DeadLetter[] }> {
  const tenantId = scopeTenant(principal, opts.tenant);
  const letters = await visibleLetters(deps, tenantId, opts.limit);
  await deps.database.db.transaction().execute(async (tx) =>
    deps.audit(tx, {
      tenantId: tenantId ?? (await eventTenant(tx, principal)),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'dead_letter', action: 'list' },
    }),
  );
  return { dead_letters: letters };
}

/** Replay one dead letter (its task set pending again); audited in the replay's transaction. */
export async function retryAdminDeadLetter(
  deps: Pick<AdminDeps, 'database' | 'queue' | 'audit'>,
  principal: AdminPrincipal,
  id: string,
): Promise<{ id: string; queue: string }> {
  const tenantId = scopeTenant(principal);
  const visible = await visibleLetters(deps, tenantId, 100_000);
  if (!visible.some((l) => l.id === id)) {
    throw new AppError('NOT_FOUND', { resource: 'dead_letter' }, 'no such dead letter');
  }
  const replayed = await retryDeadLetter(deps.database.db, deps.queue, id, {
    tenantId,
    onReplay: async (tx, letter) => {
      const requestId =
        typeof letter.data.requestId === 'string' && UUID.test(letter.data.requestId)
          ? letter.data.requestId
          : undefined;
      const request = requestId
        ? await tx
            .selectFrom('privacy_requests')
            .select(['tenant_id', 'subject_ref'])
            .where('id', '=', requestId)
            .executeTakeFirst()
        : undefined;
      await deps.audit(tx, {
        tenantId: request?.tenant_id ?? tenantId ?? (await eventTenant(tx, principal)),
        type: 'admin.access',
        actor: actorOf(principal),
        ...(request ? { subject: { subjectRef: request.subject_ref }, requestId } : {}),
        data: { resource: 'dead_letter', action: 'retry' },
      });
    },
  });
  return { id, queue: replayed.queue };
}
