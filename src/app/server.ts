import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../lib/http/http.js';
import { registerAdminRoutes } from '../modules/admin/index.js';
import { registerWebRoutes } from '../modules/admin/web.routes.js';
import { createDsrDeps, createPrivacyIntents, registerDsrRoutes } from '../modules/dsr/index.js';
import { createForwarder } from '../modules/forwarding/index.js';
import { registerFlowsRoutes } from '../modules/flows/index.js';
import { registerMetaCallbackRoutes } from '../modules/meta-callback/index.js';
import { registerHttpCallbackRoutes } from '../modules/connectors/http-callback.routes.js';
import { registerWebhookRoutes } from '../modules/whatsapp/index.js';
import type { AppContext } from './context.js';
import { registerDocsRoutes } from './docs.routes.js';
import { registerOpsRoutes } from './ops.routes.js';

/** The HTTP surface of one flowguard process. Modules add their routes here. */
export async function buildServer(ctx: AppContext): Promise<FastifyInstance> {
  const app = createHttpServer({
    logger: ctx.logger,
    metrics: ctx.metrics,
    tls: ctx.config.server.tls,
    trustedProxies: ctx.config.server.trustedProxies,
  });
  registerOpsRoutes(app, ctx);
  registerWebhookRoutes(app, {
    ...ctx,
    forwarder: createForwarder(ctx),
    privacy: createPrivacyIntents(createDsrDeps(ctx)),
  });
  registerFlowsRoutes(app, ctx);
  registerDsrRoutes(app, ctx, createDsrDeps(ctx));
  registerMetaCallbackRoutes(app, { ...ctx, dsr: createDsrDeps(ctx) });
  registerHttpCallbackRoutes(app, { ...ctx, dsr: createDsrDeps(ctx) });
  registerAdminRoutes(app, ctx);
  registerWebRoutes(app);
  registerDocsRoutes(app);
  await app.ready();
  return app;
}
