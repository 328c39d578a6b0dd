import { z } from 'zod';
import { adminRoute } from '../admin-route.js';
import { idParams } from '../admin.schemas.js';
import { actorOf } from '../admin.types.js';
import { createAdminUser } from '../create-admin-user.js';
import { createAdminApiKey, listAdminApiKeys, revokeAdminApiKey } from '../installation/api-keys.js';
import { listTenants } from '../installation/list-tenants.js';
import { ADMIN_ROLES } from '../permissions.js';
import { scopeTenant } from '../tenant-scope.js';
import { disableAdminUser } from '../users/disable-admin-user.js';
import { listAdminUsers } from '../users/list-admin-users.js';
import { resetAdminMfa } from '../users/reset-admin-mfa.js';

const tenantField = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/);
const apiKeySummary = z.object({
  id: z.string(),
  tenant: z.string(),
  name: z.string(),
  prefix: z.string(),
  role: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

/** The owner's routes: admin users, tenants and API keys. */
export const installationRoutes = [
  adminRoute({
    method: 'GET',
    path: '/users',
    operationId: 'adminListUsers',
    summary: 'Admin users (e-mail, role, tenant, last sign-in, MFA enrolled, recovery codes left)',
    tag: 'users',
    auth: 'users.read',
    response: z.object({
      users: z.array(
        z.object({
          id: z.string(),
          email: z.string(),
          role: z.string(),
          tenant: z.string().nullable(),
          created_at: z.string(),
          last_login_at: z.string().nullable(),
          disabled_at: z.string().nullable(),
          mfa_enrolled: z.boolean(),
          recovery_codes_left: z.number(),
        }),
      ),
    }),
    audit: ['admin.access'],
    handler: ({ principal }, deps) => listAdminUsers(deps, principal),
  }),
  adminRoute({
    method: 'POST',
    path: '/users',
    operationId: 'adminCreateUser',
    summary: 'Create an admin; returns its TOTP enrolment URI and recovery codes once (or enrols at sign-in)',
    description:
      'Password at least 12 characters (argon2id). Without `tenant` a global owner creates a global admin; an owner bound to a tenant creates admins of that tenant only. By default the admin counts as enrolled: render `otpauth_uri` as a QR code for the new admin. With `enrol_at_sign_in: true` no URI or codes are returned: the new admin scans a QR code in the dashboard at the first sign-in and gets its own recovery codes there.',
    tag: 'users',
    auth: 'users.write',
    mfa: 'fresh',
    body: z.strictObject({
      email: z.string().max(254),
      password: z.string().max(2048),
      role: z.enum(ADMIN_ROLES),
      tenant: tenantField.optional(),
      enrol_at_sign_in: z.boolean().optional(),
    }),
    response: z.object({
      id: z.string(),
      email: z.string(),
      role: z.string(),
      tenant: z.string().nullable(),
      mfa_enrolled: z.boolean(),
      otpauth_uri: z.string().optional(),
      recovery_codes: z.array(z.string()).optional(),
    }),
    status: 201,
    audit: ['admin_user.created'],
    errors: { 404: 'No such tenant', 409: 'An admin with this e-mail exists' },
    handler: ({ principal, body }, deps) =>
      createAdminUser(deps.database.db, deps, {
        email: body.email,
        password: body.password,
        role: body.role,
        tenantId: scopeTenant(principal, body.tenant),
        enrolAtSignIn: body.enrol_at_sign_in,
        actor: actorOf(principal),
      }),
  }),
  adminRoute({
    method: 'POST',
    path: '/users/:id/disable',
    operationId: 'adminDisableUser',
    summary: 'Disable an admin: sign-in refused, live sessions ended',
    tag: 'users',
    auth: 'users.write',
    mfa: 'fresh',
    params: idParams,
    response: z.object({ id: z.string(), disabled_at: z.string(), sessions_ended: z.number() }),
    audit: ['admin_user.disabled'],
    errors: { 409: 'You cannot disable yourself' },
    handler: ({ principal, params }, deps) => disableAdminUser(deps, principal, params.id),
  }),
  adminRoute({
    method: 'POST',
    path: '/users/:id/reset-mfa',
    operationId: 'adminResetUserMfa',
    summary: "Reset an admin's MFA (authenticator lost): secret and recovery codes removed, sessions ended",
    description:
      'The password stays: at the next sign-in the admin enrols a new authenticator (QR code) and gets new recovery codes.',
    tag: 'users',
    auth: 'users.write',
    mfa: 'fresh',
    params: idParams,
    response: z.object({
      id: z.string(),
      mfa_enrolled: z.literal(false),
      sessions_ended: z.number(),
      recovery_codes_removed: z.number(),
    }),
    audit: ['admin_user.mfa_reset'],
    errors: { 409: 'You cannot reset your own MFA (regenerate your recovery codes instead)' },
    handler: ({ principal, params }, deps) =>
      resetAdminMfa(deps, {
        userId: params.id,
        tenantId: scopeTenant(principal),
        selfId: principal.kind === 'user' ? principal.userId : undefined,
        actor: actorOf(principal),
      }),
  }),
  adminRoute({
    method: 'GET',
    path: '/tenants',
    operationId: 'adminListTenants',
    summary: 'Tenants (names and settings; never their secrets)',
    tag: 'tenants',
    auth: 'tenants.read',
    response: z.object({
      tenants: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          is_default: z.boolean(),
          phone_number_id: z.string().nullable(),
          regimes: z.array(z.string()),
          created_at: z.string(),
        }),
      ),
    }),
    audit: ['admin.access'],
    handler: ({ principal }, deps) => listTenants(deps, principal),
  }),
  adminRoute({
    method: 'GET',
    path: '/api-keys',
    operationId: 'adminListApiKeys',
    summary: 'API keys (prefix, role, last use; never the secret)',
    tag: 'api-keys',
    auth: 'api_keys.read',
    query: z.object({ tenant: tenantField.optional() }),
    response: z.object({ api_keys: z.array(apiKeySummary) }),
    audit: ['admin.access'],
    handler: ({ principal, query }, deps) => listAdminApiKeys(deps, principal, query.tenant),
  }),
  adminRoute({
    method: 'POST',
    path: '/api-keys',
    operationId: 'adminCreateApiKey',
    summary: 'Create an API key for one tenant; the key is shown once',
    tag: 'api-keys',
    auth: 'api_keys.write',
    mfa: 'fresh',
    body: z.strictObject({
      name: z.string().min(1).max(100),
      role: z.enum(['service', 'admin']).default('service'),
      tenant: tenantField.optional(),
    }),
    response: z.object({
      id: z.string(),
      key: z.string(),
      prefix: z.string(),
      tenantId: z.string(),
      name: z.string(),
      role: z.string(),
    }),
    status: 201,
    audit: ['api_key.created'],
    errors: { 404: 'No such tenant' },
    handler: ({ principal, body }, deps) => createAdminApiKey(deps, principal, body),
  }),
  adminRoute({
    method: 'POST',
    path: '/api-keys/:id/revoke',
    operationId: 'adminRevokeApiKey',
    summary: 'Revoke an API key; requests with it are refused at once',
    tag: 'api-keys',
    auth: 'api_keys.write',
    mfa: 'fresh',
    params: idParams,
    response: z.object({ id: z.string(), revoked_at: z.string() }),
    audit: ['api_key.revoked'],
    handler: ({ principal, params }, deps) => revokeAdminApiKey(deps, principal, params.id),
  }),
];
