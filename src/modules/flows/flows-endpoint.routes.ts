import type { KeyObject } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { createRsaUnwrapper, unwrapInline } from '../../lib/crypto/rsa-pool.js';
import { AppError } from '../../lib/errors.js';
import { sendError } from '../../lib/http/http.js';
import type { Tenant } from '../tenants/index.js';
import { handleFlowRequest } from './handle-flow-request.js';
import type { FlowHandlerDeps } from './screen-handlers.js';
import './privacy-center.js';

const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export type FlowsEndpointDeps = FlowHandlerDeps & Pick<AppContext, 'metrics'>;

/**
 * The WhatsApp Flows data endpoint: `POST /flows/endpoint` for the default tenant, `/flows/endpoint/:tenantId`
 * for any tenant. 200 answers are base64 text (AES-GCM under the request's key); errors are 421, 427, 432.
 */
export function registerFlowsEndpointRoutes(app: FastifyInstance, deps: FlowsEndpointDeps): void {
  // RSA on worker threads, so the event loop keeps serving while keys are unwrapped (rsa-pool.ts). A call with
  // nothing else to do unwraps inline, as the hand-over would only add a thread's wake-up to it; see `busy`.
  const rsa = createRsaUnwrapper();
  app.addHook('onClose', async () => rsa.close());
  const onWorker = deps.metrics.flowsKeyUnwraps.labels({ on: 'worker' });
  const onLoop = deps.metrics.flowsKeyUnwraps.labels({ on: 'event_loop' });
  const offloading = {
    ...deps,
    unwrapKey: (key: KeyObject, wrapped: Buffer) => {
      onWorker.inc();
      return rsa.unwrap(key, wrapped);
    },
  };
  const inline = {
    ...deps,
    unwrapKey: async (key: KeyObject, wrapped: Buffer) => {
      onLoop.inc();
      return unwrapInline(key, wrapped);
    },
  };
  let serving = 0;
  // Other work waits behind this call when another call is in progress (awaiting the database) or when one was
  // already served in this turn of the event loop: calls arriving together are read in one turn, and a ping,
  // which never awaits, would otherwise finish before the next is read and always count as alone.
  let turnTaken = false;
  const turnOver = () => {
    turnTaken = false;
  };
  const busy = () => {
    if (serving > 1 || turnTaken) return true;
    turnTaken = true;
    setImmediate(turnOver);
    return false;
  };

  async function serve(req: FastifyRequest, reply: FastifyReply, tenant: Tenant): Promise<FastifyReply> {
    const started = process.hrtime.bigint();
    serving++;
    let result: Awaited<ReturnType<typeof handleFlowRequest>>;
    try {
      result = await handleFlowRequest(rsa.threads > 0 && busy() ? offloading : inline, {
        tenant,
        rawBody: req.rawBody,
        signature: req.headers['x-hub-signature-256'],
        body: req.body,
        jsonInvalid: req.jsonInvalid === true,
      });
    } finally {
      serving--;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    deps.metrics.flowsEndpointDuration.observe(
      { action: result.action, status: String(result.status) },
      seconds,
    );
    if (result.status === 200)
      return reply.code(200).type('text/plain; charset=utf-8').send(result.encrypted);
    return reply.code(result.status).type('application/json; charset=utf-8').send(result.json);
  }

  app.post('/flows/endpoint', async (req, reply) => serve(req, reply, await deps.tenants.getDefault()));

  app.post<{ Params: { tenantId: string } }>('/flows/endpoint/:tenantId', async (req, reply) => {
    const id = req.params.tenantId;
    if (!TENANT_ID.test(id)) return sendError(reply, new AppError('TENANT_NOT_FOUND', {}, 'no such tenant'));
    return serve(req, reply, await deps.tenants.get(id));
  });
}
