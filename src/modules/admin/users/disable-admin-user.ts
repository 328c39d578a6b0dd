import { AppError } from '../../../lib/errors.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { endUserSessions } from '../sessions.js';
import { defaultTenantId, scopeTenant } from '../tenant-scope.js';

/**
 * Disable an admin: sign-in refused from now on and every live session ended, in one transaction with
 * `admin_user.disabled`. An owner cannot disable itself (someone must be left to manage the installation);
 * disabling twice keeps the first time.
 */
export async function disableAdminUser(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: AdminPrincipal,
  userId: string,
): Promise<{ id: string; disabled_at: string; sessions_ended: number }> {
  const tenantId = scopeTenant(principal);
  if (principal.kind === 'user' && principal.userId === userId) {
    throw new AppError('CONFLICT', { reason: 'self' }, 'you cannot disable yourself');
  }
  const now = deps.clock();
  return deps.database.db.transaction().execute(async (tx) => {
    let q = tx.selectFrom('admin_users').select(['id', 'tenant_id', 'disabled_at']).where('id', '=', userId);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const user = await q.forUpdate().executeTakeFirst();
    if (!user) throw new AppError('NOT_FOUND', { resource: 'admin_user' }, 'no such admin');
    if (user.disabled_at !== null) {
      return { id: user.id, disabled_at: new Date(user.disabled_at).toISOString(), sessions_ended: 0 };
    }
    await tx
      .updateTable('admin_users')
      .set({ disabled_at: now, updated_at: now })
      .where('id', '=', user.id)
      .execute();
    const ended = await endUserSessions(tx, user.id, now);
    await deps.audit(tx, {
      tenantId: user.tenant_id ?? (await defaultTenantId(tx)),
      type: 'admin_user.disabled',
      actor: actorOf(principal),
      data: { admin_id: user.id, sessions_ended: ended },
    });
    return { id: user.id, disabled_at: now.toISOString(), sessions_ended: ended };
  });
}
