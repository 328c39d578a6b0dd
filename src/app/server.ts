import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../lib/http/http.js';
import type { AppContext } from './context.js';
import { registerOpsRoutes } from './ops.routes.js';

/** The HTTP surface of one flowguard process. Modules add their routes here. */
export async function buildServer(ctx: AppContext): Promise<FastifyInstance> {
  const app = createHttpServer({ logger: ctx.logger, metrics: ctx.metrics, tls: ctx.config.server.tls });
  registerOpsRoutes(app, ctx);
  await app.ready();
  return app;
}
