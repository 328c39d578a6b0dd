import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';
import type { DsrDeps } from './dsr.types.js';
import { registerExportRoutes } from './exports.routes.js';
import { countOpenRequests } from './list-requests.js';
import { registerRequestAdminRoutes } from './request-admin.routes.js';
import { registerRequestRoutes } from './requests.routes.js';

/** Every HTTP route of the privacy-request module, and the request gauges read on each /metrics scrape. */
export function registerDsrRoutes(app: FastifyInstance, ctx: AppContext, deps: DsrDeps): void {
  registerRequestRoutes(app, ctx, deps);
  registerRequestAdminRoutes(app, ctx, deps);
  registerExportRoutes(app, ctx, deps);
  // Both gauges are collected together on a scrape: they share the query in flight.
  let inflight: ReturnType<typeof countOpenRequests> | undefined;
  ctx.metrics.useRequestCounts(
    () =>
      (inflight ??= countOpenRequests(ctx.database.db, ctx.clock()).finally(() => {
        inflight = undefined;
      })),
  );
}
