import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { requireJson } from '../../lib/http/http.js';
import { apiKeyOf, requireApiKey } from '../apikeys/index.js';
import { denyRequest } from './deny-request.js';
import type { DsrDeps } from './dsr.types.js';
import { extendRequest } from './extend-request.js';
import { requestIdFrom } from './request-id.js';

/**
 * Decisions about a request's course, for a privacy officer: extend its deadline, deny it. Only API keys with
 * the `admin` role (a `service` key gets 403); the admin UI uses the same use cases.
 */
export function registerRequestAdminRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'database' | 'clock'>,
  deps: DsrDeps,
): void {
  const db = ctx.database.db;
  const admin = { preHandler: requireApiKey(ctx, { roles: ['admin'] }) };
  const bodyOf = (body: unknown) =>
    (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<
      string,
      unknown
    >;

  app.post('/v1/requests/:id/extend', admin, async (req) => {
    const principal = apiKeyOf(req);
    const requestId = requestIdFrom((req.params as { id?: string }).id);
    const body = bodyOf(requireJson(req));
    return db.transaction().execute((tx) =>
      extendRequest(tx, deps, {
        tenantId: principal.tenantId,
        requestId,
        days: body.days,
        reasonCode: body.reason_code,
        actor: { type: 'api_key', id: principal.keyId },
      }),
    );
  });

  app.post('/v1/requests/:id/deny', admin, async (req) => {
    const principal = apiKeyOf(req);
    const requestId = requestIdFrom((req.params as { id?: string }).id);
    const body = bodyOf(requireJson(req));
    return db.transaction().execute((tx) =>
      denyRequest(tx, deps, {
        tenantId: principal.tenantId,
        requestId,
        reasonCode: body.reason_code,
        actor: { type: 'api_key', id: principal.keyId },
      }),
    );
  });
}
