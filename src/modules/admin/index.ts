export { adminOpenApiPaths, adminSecuritySchemes } from './admin-openapi.js';
export { adminRoutes, createAdminDeps, registerAdminRoutes } from './admin.routes.js';
export { ADMIN_PREFIX, type AdminRoute } from './admin-route.js';
export type { AdminDeps, AdminPrincipal } from './admin.types.js';
export { createAdminUser, type CreatedAdminUser } from './create-admin-user.js';
export { ADMIN_ROLES, can, PERMISSIONS, type AdminRole, type Permission } from './permissions.js';
export { PASSWORD_MIN_LENGTH } from './passwords.js';
export { findAdminIdByEmail, resetAdminMfa } from './users/reset-admin-mfa.js';
