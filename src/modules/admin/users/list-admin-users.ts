import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { emailAad } from '../admin-email.js';
import { eventTenant, scopeTenant } from '../tenant-scope.js';

export interface AdminUserSummary {
  id: string;
  email: string;
  role: string;
  tenant: string | null;
  created_at: string;
  last_login_at: string | null;
  disabled_at: string | null;
  mfa_enrolled: boolean;
  recovery_codes_left: number;
}

/** The admins an owner manages (its tenant's, or every one for a global owner); the read is audited. */
export async function listAdminUsers(
  deps: Pick<AdminDeps, 'database' | 'keyring' | 'audit'>,
  principal: AdminPrincipal,
): Promise<{ users: AdminUserSummary[] }> {
  const tenantId = scopeTenant(principal);
  return deps.database.db.transaction().execute(async (tx) => {
    let q = tx
      .selectFrom('admin_users as u')
      .select([
        'u.id',
        'u.email',
        'u.role',
        'u.tenant_id',
        'u.created_at',
        'u.last_login_at',
        'u.disabled_at',
        'u.mfa_enrolled_at',
        (eb) =>
          eb
            .selectFrom('admin_recovery_codes as c')
            .select((e) => e.fn.countAll<string>().as('n'))
            .whereRef('c.user_id', '=', 'u.id')
            .where('c.used_at', 'is', null)
            .as('codes_left'),
      ])
      .orderBy('u.created_at')
      .orderBy('u.id');
    if (tenantId !== undefined) q = q.where('u.tenant_id', '=', tenantId);
    const rows = await q.execute();
    await deps.audit(tx, {
      tenantId: await eventTenant(tx, principal),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'admin_user', action: 'list' },
    });
    return {
      users: rows.map((r) => ({
        id: r.id,
        email: deps.keyring.openSecret(r.email, emailAad(r.id)),
        role: r.role,
        tenant: r.tenant_id,
        created_at: new Date(r.created_at).toISOString(),
        last_login_at: r.last_login_at ? new Date(r.last_login_at).toISOString() : null,
        disabled_at: r.disabled_at ? new Date(r.disabled_at).toISOString() : null,
        mfa_enrolled: r.mfa_enrolled_at !== null,
        recovery_codes_left: Number(r.codes_left ?? 0),
      })),
    };
  });
}
