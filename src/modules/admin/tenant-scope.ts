import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { AdminPrincipal } from './admin.types.js';

/**
 * Tenant scoping for every admin query. An admin bound to a tenant (and every API key) sees that tenant only;
 * a global admin sees every tenant, or the one it asks for. Asking a bound principal for another tenant is 403.
 */
export function scopeTenant(p: Pick<AdminPrincipal, 'tenantId'>, requested?: string): string | undefined {
  if (p.tenantId === undefined) return requested;
  if (requested !== undefined && requested !== p.tenantId) {
    throw new AppError('FORBIDDEN', { reason: 'tenant' }, 'outside your tenant');
  }
  return p.tenantId;
}

/** The installation's default tenant: where events that belong to no tenant (a global admin's sign-in) go. */
export async function defaultTenantId(db: Kysely<DB>): Promise<string> {
  const row = await db.selectFrom('tenants').select('id').where('is_default', '=', true).executeTakeFirst();
  if (!row) throw new AppError('TENANT_NOT_FOUND', { tenant: 'default' }, 'no default tenant');
  return row.id;
}

/** The tenant an audit event about this principal's action is filed under. */
export async function eventTenant(db: Kysely<DB>, p: Pick<AdminPrincipal, 'tenantId'>): Promise<string> {
  return p.tenantId ?? (await defaultTenantId(db));
}
