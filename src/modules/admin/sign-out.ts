import type { AdminDeps } from './admin.types.js';
import { endSession } from './sessions.js';
import { eventTenant } from './tenant-scope.js';

/** A signed-in admin's session: a full one, or an enrolment session (giving up the enrolment ends it too). */
export interface SessionHolder {
  userId: string;
  tenantId: string | undefined;
  session: { idHash: string };
}

/** End the caller's session (the cookie is cleared by the route) and record `admin.logout`. */
export async function signOut(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: SessionHolder,
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
