import { AppError } from '../../../lib/errors.js';
import {
  createApiKey,
  listApiKeys,
  revokeApiKey,
  type ApiKeySummary,
  type CreatedApiKey,
} from '../../apikeys/index.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { defaultTenantId, eventTenant, scopeTenant } from '../tenant-scope.js';

/** API keys of the owner's tenant(s), without secrets or hashes; the read is audited. */
export async function listAdminApiKeys(
  deps: Pick<AdminDeps, 'database' | 'audit'>,
  principal: AdminPrincipal,
  requested?: string,
): Promise<{ api_keys: ApiKeySummary[] }> {
  const tenantId = scopeTenant(principal, requested);
  return deps.database.db.transaction().execute(async (tx) => {
    const keys = await listApiKeys(tx, tenantId);
    await deps.audit(tx, {
      tenantId: tenantId ?? (await eventTenant(tx, principal)),
      type: 'admin.access',
      actor: actorOf(principal),
      data: { resource: 'api_key', action: 'list' },
    });
    return { api_keys: keys };
  });
}

/** A new key for one tenant (the owner's own, or any for a global owner), shown once; audited with the insert. */
export async function createAdminApiKey(
  deps: Pick<AdminDeps, 'database' | 'audit'>,
  principal: AdminPrincipal,
  input: { name: string; role: 'service' | 'admin'; tenant?: string | undefined },
): Promise<CreatedApiKey> {
  const scoped = scopeTenant(principal, input.tenant);
  return deps.database.db.transaction().execute(async (tx) => {
    const tenantId = scoped ?? (await defaultTenantId(tx));
    const created = await createApiKey(tx, { tenantId, name: input.name, role: input.role });
    await deps.audit(tx, {
      tenantId,
      type: 'api_key.created',
      actor: actorOf(principal),
      data: { api_key_id: created.id, role: created.role },
    });
    return created;
  });
}

/** Revoke a key of the owner's tenant(s); requests with it are refused at once. Audited with the change. */
export async function revokeAdminApiKey(
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit'>,
  principal: AdminPrincipal,
  id: string,
): Promise<{ id: string; revoked_at: string }> {
  const tenantId = scopeTenant(principal);
  return deps.database.db.transaction().execute(async (tx) => {
    let q = tx.selectFrom('api_keys').select(['id', 'tenant_id', 'revoked_at']).where('id', '=', id);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const key = await q.forUpdate().executeTakeFirst();
    if (!key) throw new AppError('NOT_FOUND', { resource: 'api_key' }, 'no such API key');
    const revoked = await revokeApiKey({ db: tx, clock: deps.clock }, key.id);
    if (key.revoked_at === null) {
      await deps.audit(tx, {
        tenantId: key.tenant_id,
        type: 'api_key.revoked',
        actor: actorOf(principal),
        data: { api_key_id: key.id },
      });
    }
    return revoked;
  });
}
