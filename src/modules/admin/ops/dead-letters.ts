import { isUuid } from '../../../lib/uuid.js';
import { listDeadLetters, retryDeadLetter, type DeadLetter } from '../../dlq/dead-letters.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { eventTenant, scopeTenant } from '../tenant-scope.js';

/**
 * What waits in the dead-letter queues (job payloads hold ids only), a page at a time: `next_cursor` is the `cursor`
 * of the following page, null on the last. The read is audited.
 */
export async function listAdminDeadLetters(
  deps: Pick<AdminDeps, 'database' | 'audit'>,
  principal: AdminPrincipal,
  opts: { tenant?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ dead_letters: DeadLetter[]; next_cursor: string | null }> {
  const tenantId = scopeTenant(principal, opts.tenant);
  const page = await listDeadLetters(deps.database.db, {
    tenantId,
    limit: opts.limit + 1,
    after: opts.cursor,
  });
  const letters = page.slice(0, opts.limit);
  await deps.database.db.transaction().execute(async (tx) =>
    deps.audit(tx, {
      tenantId: tenantId ?? (await eventTenant(tx, principal)),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'dead_letter', action: 'list' },
    }),
  );
  return {
    dead_letters: letters,
    next_cursor: page.length > opts.limit ? letters[letters.length - 1]!.id : null,
  };
}

/** Replay one dead letter (its task set pending again); audited in the replay's transaction. */
export async function retryAdminDeadLetter(
  deps: Pick<AdminDeps, 'database' | 'queue' | 'audit'>,
  principal: AdminPrincipal,
  id: string,
): Promise<{ id: string; queue: string }> {
  const tenantId = scopeTenant(principal);
  const replayed = await retryDeadLetter(deps.database.db, deps.queue, id, {
    tenantId,
    onReplay: async (tx, letter) => {
      const requestId =
        typeof letter.data.requestId === 'string' && isUuid(letter.data.requestId)
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
