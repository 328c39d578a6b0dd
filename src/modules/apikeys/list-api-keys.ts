import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

export interface ApiKeySummary {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  role: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Every key (optionally of one tenant) without its secret or hash. */
export async function listApiKeys(db: Kysely<DB>, tenantId?: string): Promise<ApiKeySummary[]> {
  let query = db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'name', 'key_prefix', 'role', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy('created_at')
    .orderBy('id');
  if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant_id,
    name: r.name,
    prefix: r.key_prefix,
    role: r.role,
    created_at: new Date(r.created_at).toISOString(),
    last_used_at: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
    revoked_at: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  }));
}
