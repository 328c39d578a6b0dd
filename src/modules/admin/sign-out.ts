import type { AdminDeps, AdminPrincipal } from './admin.types.js';
import { endSession } from './sessions.js';
import { eventTenant } from './tenant-scope.js';

/** End the caller's session (the cookie is cleared by the route) and record `admin.logout`. */
export async function signOut(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: Extract<AdminPrincipal, { kind: 'user' }>,
): Promise<{ signed_out: true }> {
  await deps.database.db.transaction().execute(async (tx) => {
    if (await endSession(tx, principal.session.idHash, deps.clock())) {
      await deps.audit(tx, {
        tenantId: await eventTenant(tx, principal),
        type: 'admin.logout',
        actor: { type: 'admin', id: principal.userId },
        data: {},
      });
    }
  });
  return { signed_out: true };
}
