import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { registerFlowsEndpointRoutes } from './flows-endpoint.routes.js';
import { registerFlowTokenRoutes } from './flow-tokens.routes.js';

/** Every HTTP route of the flows module: the data endpoint and the flow-token API. */
export function registerFlowsRoutes(app: FastifyInstance, ctx: AppContext): void {
  registerFlowsEndpointRoutes(app, ctx);
  registerFlowTokenRoutes(app, ctx);
}
