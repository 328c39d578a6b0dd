import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { AppError } from '../../lib/errors.js';
import { requireJson } from '../../lib/http/http.js';
import { apiKeyOf, requireApiKey } from '../apikeys/index.js';
import { createFlowTokens } from './flow-tokens.js';
import { identityFromInput } from './identity-input.js';

export type FlowTokenRouteDeps = Pick<AppContext, 'config' | 'database' | 'subjects' | 'clock'>;

/**
 * `POST /v1/flow-tokens` `{phone} | {user_id}` → 201 `{flow_token, expires_at}` for the API key's tenant. The
 * business puts the token in the Flow message it sends to that person; flowguard then knows who is calling.
 */
export function registerFlowTokenRoutes(app: FastifyInstance, deps: FlowTokenRouteDeps): void {
  const tokens = createFlowTokens({
    db: deps.database.db,
    subjects: deps.subjects,
    clock: deps.clock,
    ttlSeconds: deps.config.flowTokenTtlSeconds,
  });
  app.post('/v1/flow-tokens', { preHandler: requireApiKey(deps) }, async (req, reply) => {
    const principal = apiKeyOf(req);
    const body = requireJson(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new AppError(
        'VALIDATION_FAILED',
        {},
        'body must be a JSON object: {"phone": ...} or {"user_id": ...}',
      );
    }
    const identity = identityFromInput(body as { phone?: unknown; user_id?: unknown });
    const issued = await deps.database.db
      .transaction()
      .execute((tx) => tokens.issue(tx, principal.tenantId, identity));
    return reply.code(201).send({ flow_token: issued.token, expires_at: issued.expiresAt.toISOString() });
  });
}
