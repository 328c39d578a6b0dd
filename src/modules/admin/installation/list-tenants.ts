import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { eventTenant, scopeTenant } from '../tenant-scope.js';

export interface TenantSummary {
  id: string;
  name: string;
  is_default: boolean;
  phone_number_id: string | null;
  regimes: string[];
  created_at: string;
}

/** The tenants an owner manages (its own, or all for a global owner): names and settings, never secrets. */
export async function listTenants(
  deps: Pick<AdminDeps, 'database' | 'audit'>,
  principal: AdminPrincipal,
): Promise<{ tenants: TenantSummary[] }> {
  const tenantId = scopeTenant(principal);
  return deps.database.db.transaction().execute(async (tx) => {
    let q = tx
      .selectFrom('tenants')
      .select(['id', 'name', 'is_default', 'phone_number_id', 'settings', 'created_at'])
      .orderBy('created_at')
      .orderBy('id');
    if (tenantId !== undefined) q = q.where('id', '=', tenantId);
    const rows = await q.execute();
    await deps.audit(tx, {
      tenantId: await eventTenant(tx, principal),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'tenant', action: 'list' },
    });
    return {
      tenants: rows.map((r) => {
        const regimes = (r.settings as { regimes?: unknown }).regimes;
        return {
          id: r.id,
          name: r.name,
          is_default: r.is_default,
          phone_number_id: r.phone_number_id,
          regimes: Array.isArray(regimes) ? regimes.filter((x): x is string => typeof x === 'string') : [],
          created_at: new Date(r.created_at).toISOString(),
        };
      }),
    };
  });
}
