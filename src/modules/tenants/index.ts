export { addTenant, addTenantInput, type AddTenantInput } from './add-tenant.js';
export { DEFAULT_TENANT_ID, ensureDefaultTenant, type DefaultTenantReport } from './ensure-default-tenant.js';
export {
  createTenantRegistry,
  secretsAad,
  type PrivateKeyParser,
  type Tenant,
  type TenantRegistry,
  type TenantSecrets,
} from './tenant-registry.js';
export { createTenantsRepo } from './tenants.repo.js';
