/**
 * The one permission matrix of the admin API: role → what it may do. Every admin route names exactly one
 * permission (admin-route.ts); `test/integration/admin-permissions.int.test.ts` walks every route × every role
 * and checks 2xx against 403 from this table, so a change here is a change to the test's expectations.
 *
 * Least privilege:
 * - owner: the installation itself (admin users, tenants, API keys); no request data.
 * - privacy_officer: the request queue and its decisions (approve, deny, extend), exports, proof reports.
 * - operator: the machinery (dead-letter queue, retention runs, health).
 * - auditor: read-only: the audit log and its verification, request records (ids, enums, times: no personal
 *   data), proof reports, metrics; never an export.
 * An API key with the `admin` role (machine clients) acts within its tenant like a privacy officer, operator and
 * auditor together, but can never manage users, tenants or keys (a stolen key cannot make itself permanent),
 * nor start the installation-wide retention sweep.
 */

export const ADMIN_ROLES = ['owner', 'privacy_officer', 'operator', 'auditor'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export function isAdminRole(value: unknown): value is AdminRole {
  return typeof value === 'string' && (ADMIN_ROLES as readonly string[]).includes(value);
}

export const PERMISSIONS = [
  'me.read',
  'users.read',
  'users.write',
  'tenants.read',
  'api_keys.read',
  'api_keys.write',
  'requests.read',
  'requests.decide',
  'exports.download',
  'proofs.read',
  'dlq.read',
  'dlq.retry',
  'retention.run',
  'health.read',
  'audit.read',
  'audit.verify',
  'metrics.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<AdminRole, ReadonlySet<Permission>> = {
  owner: new Set<Permission>([
    'me.read',
    'users.read',
    'users.write',
    'tenants.read',
    'api_keys.read',
    'api_keys.write',
  ]),
  privacy_officer: new Set<Permission>([
    'me.read',
    'requests.read',
    'requests.decide',
    'exports.download',
    'proofs.read',
    'metrics.read',
  ]),
  operator: new Set<Permission>([
    'me.read',
    'dlq.read',
    'dlq.retry',
    'retention.run',
    'health.read',
    'metrics.read',
  ]),
  auditor: new Set<Permission>([
    'me.read',
    'requests.read',
    'proofs.read',
    'audit.read',
    'audit.verify',
    'metrics.read',
  ]),
};

/** Never for an API key: managing who may do what, and the installation-wide retention sweep. */
const NOT_FOR_API_KEYS: readonly Permission[] = [
  'users.read',
  'users.write',
  'tenants.read',
  'api_keys.read',
  'api_keys.write',
  'retention.run',
];

/** What an `admin` API key may do (within its own tenant). */
const API_KEY_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>(
  PERMISSIONS.filter((p) => !NOT_FOR_API_KEYS.includes(p)),
);

/** The principals the matrix knows: the four staff roles and the admin API key. */
export type PermissionHolder = { kind: 'user'; role: AdminRole } | { kind: 'api_key' };

export function can(holder: PermissionHolder, permission: Permission): boolean {
  return holder.kind === 'api_key'
    ? API_KEY_PERMISSIONS.has(permission)
    : ROLE_PERMISSIONS[holder.role].has(permission);
}
