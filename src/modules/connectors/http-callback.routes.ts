import type { FastifyInstance } from 'fastify';
import { CALLBACK_PATH } from './data-map.js';
import { confirmHttpErasure, type CallbackDeps } from './confirm-http-erasure.js';
import { SIGNATURE_HEADER } from './http/signature.js';

/**
 * `POST /callbacks/systems/:systemId/:requestId`: a business's own service (http connector) confirms an
 * erasure it accepted earlier. No API key: the body's HMAC signature under that system's secret is the
 * authorisation (401 when bad or stale), checked on the raw bytes. 404 for an unknown system or request,
 * 200 `{status, changed}` otherwise — the same again when the task was already settled.
 */
export function registerHttpCallbackRoutes(app: FastifyInstance, deps: CallbackDeps): void {
  app.post(`${CALLBACK_PATH}/:systemId/:requestId`, async (req) => {
    const params = req.params as { systemId: string; requestId: string };
    const header = req.headers[SIGNATURE_HEADER];
    return confirmHttpErasure(deps, {
      systemId: params.systemId,
      requestId: params.requestId,
      rawBody: req.rawBody,
      signature: typeof header === 'string' ? header : undefined,
    });
  });
}
