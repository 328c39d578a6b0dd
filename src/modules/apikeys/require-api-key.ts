import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError, isAppError } from '../../lib/errors.js';
import { sendError } from '../../lib/http/http.js';
import { authenticateApiKey, type ApiKeyPrincipal } from './authenticate-api-key.js';
import type { ApiKeyRole } from './api-key-format.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireApiKey on /v1 routes: who is calling (key id, tenant, role). */
    apiKey?: ApiKeyPrincipal;
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The principal a requireApiKey preHandler attached; throws if the route forgot the preHandler. */
export function apiKeyOf(req: FastifyRequest): ApiKeyPrincipal {
  if (!req.apiKey) throw new AppError('UNAUTHENTICATED', {}, 'an API key is required');
  return req.apiKey;
}

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  void reply.header('WWW-Authenticate', 'Bearer realm="flowguard"');
  return sendError(reply, new AppError('UNAUTHENTICATED', {}, message));
}

/**
 * preHandler for /v1 routes: `Authorization: Bearer <API key>`. Missing or invalid → 401 with
 * `WWW-Authenticate: Bearer`; a valid key whose role is not allowed → 403.
 */
export function requireApiKey(
  deps: { database: { db: Kysely<DB> }; clock: () => Date },
  opts: { roles?: readonly ApiKeyRole[] } = {},
): preHandlerAsyncHookHandler {
  return async function apiKeyPreHandler(req, reply) {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!match?.[1]) return unauthorized(reply, 'an API key is required: Authorization: Bearer <key>');
    try {
      const principal = await authenticateApiKey({ db: deps.database.db, clock: deps.clock }, match[1]);
      if (opts.roles && !opts.roles.includes(principal.role)) {
        return sendError(reply, new AppError('FORBIDDEN', { role: principal.role }, 'role not allowed'));
      }
      req.apiKey = principal;
    } catch (err) {
      if (isAppError(err, 'UNAUTHENTICATED')) return unauthorized(reply, err.message);
      throw err;
    }
  };
}
