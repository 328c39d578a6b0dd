import type { AdminDeps, AdminPrincipal } from './admin.types.js';
import type { Me } from './api-shapes.js';
import { emailAad } from './admin-email.js';
import { can, PERMISSIONS } from './permissions.js';
import { MFA_FRESH_MS } from './sessions.js';

/** Who the caller is and what it may do (the dashboard shows only what the role allows). */
export async function whoAmI(deps: Pick<AdminDeps, 'database' | 'keyring'>, p: AdminPrincipal): Promise<Me> {
  if (p.kind === 'api_key') {
    return {
      kind: 'api_key',
      id: p.keyId,
      email: null,
      role: 'admin',
      tenant: p.tenantId,
      permissions: PERMISSIONS.filter((x) => can({ kind: 'api_key' }, x)),
      mfa_fresh_until: null,
    };
  }
  const row = await deps.database.db
    .selectFrom('admin_users')
    .select(['email'])
    .where('id', '=', p.userId)
    .executeTakeFirstOrThrow();
  return {
    kind: 'user',
    id: p.userId,
    email: deps.keyring.openSecret(row.email, emailAad(p.userId)),
    role: p.role,
    tenant: p.tenantId ?? null,
    permissions: PERMISSIONS.filter((x) => can({ kind: 'user', role: p.role }, x)),
    mfa_fresh_until: new Date(p.session.mfaAt.getTime() + MFA_FRESH_MS).toISOString(),
  };
}
