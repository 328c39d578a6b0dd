import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import type { AuditEventType } from '../audit/index.js';
import type { AdminDeps, AdminPrincipal, EnrolmentPrincipal } from './admin.types.js';
import { authenticateAdmin, authenticateEnrolment, checkCsrf, checkMfaFresh } from './authenticate-admin.js';
import { can, type Permission } from './permissions.js';

/**
 * The admin API's route builder: each route is declared once, with its auth (one permission from the matrix,
 * `public` for sign-in only, or `enrolment` for the routes an enrolment-only session may use), MFA freshness, path/query/body schemas, response schema and the audit events
 * its use case writes; registration and the OpenAPI document are both derived from the declaration.
 *
 * Order of checks: authenticate (401) → CSRF for state-changing session requests (403) → permission (403) →
 * MFA freshness (401 MFA_REQUIRED) → params (404) / query and body (400, 415) → handler. Responses are parsed
 * with the declared schema, so a field that is not declared never leaves (a schema mismatch is a 500, a bug).
 */

export const ADMIN_PREFIX = '/admin/api';

type Schema = z.ZodType | undefined;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
export type AdminAuth = Permission | 'public' | 'enrolment';
export type AdminTag =
  | 'session'
  | 'requests'
  | 'dead-letters'
  | 'retention'
  | 'audit'
  | 'tenants'
  | 'users'
  | 'api-keys'
  | 'metrics'
  | 'health';

export interface AdminHandlerInput<A extends AdminAuth, P, Q, B> {
  principal: A extends 'public' ? undefined : A extends 'enrolment' ? EnrolmentPrincipal : AdminPrincipal;
  params: P;
  query: Q;
  body: B;
  req: FastifyRequest;
  reply: FastifyReply;
}

/** A file download (export): the handler sends the reply itself. */
export interface FileResponse {
  file: string[];
}

export interface AdminRouteSpec<
  A extends AdminAuth,
  P extends Schema,
  Q extends Schema,
  B extends Schema,
  R extends z.ZodType | FileResponse,
> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Below /admin/api, fastify style (`/requests/:id`). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: AdminTag;
  auth: A;
  /** `fresh`: the second factor shown in the last 15 minutes (step-up); default `session`. */
  mfa?: 'session' | 'fresh';
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  status?: 200 | 201 | 202;
  /** The audit events the route's use case writes (in the transaction of the change or read). */
  audit: readonly AuditEventType[];
  /** Statuses beyond the generic ones, with what they mean. */
  errors?: Partial<Record<400 | 404 | 409 | 410 | 429, string>>;
  handler(
    input: AdminHandlerInput<A, Out<P>, Out<Q>, Out<B>>,
    deps: AdminDeps,
  ): Promise<R extends z.ZodType ? z.input<R> : FastifyReply>;
}

export function isFile(response: z.ZodType | FileResponse): response is FileResponse {
  return 'file' in response && Array.isArray((response as FileResponse).file);
}

/** A declared route with its types erased, for registration and documentation. */
export type AdminRoute = AdminRouteSpec<AdminAuth, Schema, Schema, Schema, z.ZodType | FileResponse>;

export function adminRoute<
  A extends AdminAuth,
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
  R extends z.ZodType | FileResponse = z.ZodType,
>(spec: AdminRouteSpec<A, P, Q, B, R>): AdminRoute {
  return spec as unknown as AdminRoute;
}

/** The first issue's top-level field name (declared names only; never the value). */
function fieldOf(error: z.ZodError, fallback: string): string {
  const first = error.issues[0]?.path[0];
  return typeof first === 'string' ? first : fallback;
}

function parseParams(schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError('NOT_FOUND', {}, 'no such resource');
  return r.data;
}

function parseQuery(schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const field = fieldOf(r.error, 'query');
    throw new AppError('VALIDATION_FAILED', { field }, `query parameter ${field} is not valid`);
  }
  return r.data;
}

function parseBody(schema: z.ZodType | undefined, req: FastifyRequest): unknown {
  if (!schema) return undefined;
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/json\s*(;|$)/i.test(type)) {
    // A cross-site form cannot send application/json without a preflight the server never allows.
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', {}, 'send the body as application/json');
  }
  if (req.jsonInvalid) throw new AppError('INVALID_JSON', {}, 'body is not valid JSON');
  if (req.body === undefined) throw new AppError('INVALID_JSON', {}, 'a JSON body is required');
  const r = schema.safeParse(req.body);
  if (!r.success) {
    const field = fieldOf(r.error, 'body');
    throw new AppError('VALIDATION_FAILED', { field }, `${field} is missing or not valid`);
  }
  return r.data;
}

async function authorise(
  route: AdminRoute,
  req: FastifyRequest,
  deps: AdminDeps,
): Promise<AdminPrincipal | EnrolmentPrincipal | undefined> {
  if (route.auth === 'public') return undefined;
  if (route.auth === 'enrolment') {
    const enrolling = await authenticateEnrolment(req, deps);
    if (route.method !== 'GET') checkCsrf(req, enrolling);
    return enrolling;
  }
  const principal = await authenticateAdmin(req, deps);
  if (route.method !== 'GET') checkCsrf(req, principal);
  const holder =
    principal.kind === 'user'
      ? { kind: 'user' as const, role: principal.role }
      : { kind: 'api_key' as const };
  if (!can(holder, route.auth)) {
    throw new AppError('FORBIDDEN', { permission: route.auth }, 'your role does not allow this');
  }
  if (route.mfa === 'fresh') checkMfaFresh(principal, deps.clock());
  return principal;
}

export function registerAdminRoute(app: FastifyInstance, route: AdminRoute, deps: AdminDeps): void {
  app.route({
    method: route.method,
    url: `${ADMIN_PREFIX}${route.path}`,
    handler: async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      const principal = await authorise(route, req, deps);
      const input = {
        principal,
        params: parseParams(route.params, req.params),
        query: parseQuery(route.query, req.query),
        body: parseBody(route.body, req),
        req,
        reply,
      };
      const result = await route.handler(input as Parameters<AdminRoute['handler']>[0], deps);
      if (isFile(route.response)) return result;
      return reply.code(route.status ?? 200).send(route.response.parse(result));
    },
  });
}
