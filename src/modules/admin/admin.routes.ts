import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { appendAudit } from '../audit/index.js';
import { createDsrDeps } from '../dsr/index.js';
import { registerAdminRoute, type AdminRoute } from './admin-route.js';
import type { AdminDeps } from './admin.types.js';
import { auditRoutes } from './routes/audit.routes.js';
import { installationRoutes } from './routes/installation.routes.js';
import { metricsRoutes } from './routes/metrics.routes.js';
import { mfaRoutes } from './routes/mfa.routes.js';
import { opsRoutes } from './routes/ops.routes.js';
import { requestRoutes } from './routes/requests.routes.js';
import { sessionRoutes } from './routes/session.routes.js';

/** Every admin API route, declared once (the OpenAPI document and the permission-matrix test walk this list). */
export const adminRoutes: readonly AdminRoute[] = [
  ...sessionRoutes,
  ...mfaRoutes,
  ...requestRoutes,
  ...opsRoutes,
  ...auditRoutes,
  ...installationRoutes,
  ...metricsRoutes,
];

export function createAdminDeps(ctx: AppContext): AdminDeps {
  return { ...ctx, dsr: createDsrDeps(ctx), audit: (tx, event) => appendAudit(tx, ctx.keyring, event) };
}

/** `/admin/api/*`. */
export function registerAdminRoutes(app: FastifyInstance, ctx: AppContext): void {
  const deps = createAdminDeps(ctx);
  for (const route of adminRoutes) registerAdminRoute(app, route, deps);
}
