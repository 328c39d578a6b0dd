import { z } from 'zod';
import { ADMIN_PREFIX, isFile, type AdminRoute } from './admin-route.js';
import { can, type Permission } from './permissions.js';

/**
 * The admin API's part of the OpenAPI document, derived from the route declarations (nothing to keep in step
 * by hand): schemas from the zod declarations, the permission, MFA freshness and audit events as `x-` fields.
 */

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete s.$schema;
  return s;
}

const errorRef = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function parameters(route: AdminRoute): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const s = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const { description, ...schemaOnly } = prop;
      out.push({
        name,
        in: where,
        required: where === 'path' || (s.required ?? []).includes(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: schemaOnly,
      });
    }
  }
  return out;
}

function operation(route: AdminRoute): JsonSchema {
  const isPublic = route.auth === 'public';
  const enrolment = route.auth === 'enrolment';
  const responses: Record<string, unknown> = {
    [String(route.status ?? 200)]: isFile(route.response)
      ? { description: 'The file', content: Object.fromEntries(route.response.file.map((t) => [t, {}])) }
      : {
          description: 'OK',
          content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
        },
  };
  if (route.body || route.query) responses['400'] = errorRef('Body or query not valid');
  if (enrolment) {
    responses['401'] = errorRef('No live session (an enrolment session ends 15 minutes after sign-in)');
    responses['403'] = errorRef(
      'Not an enrolment session (already enrolled, or an API key), or (state-changing) missing/wrong X-CSRF-Token',
    );
  } else if (!isPublic) {
    responses['401'] = errorRef(
      route.mfa === 'fresh'
        ? 'Not signed in, session expired, or (MFA_REQUIRED) the second factor is older than 15 minutes'
        : 'Not signed in or session expired',
    );
    responses['403'] = errorRef(
      `Role lacks \`${route.auth}\`, outside your tenant, (MFA_ENROLMENT_REQUIRED) a session that may only enrol its authenticator, or (state-changing) missing/wrong X-CSRF-Token`,
    );
  }
  if (route.params) responses['404'] = errorRef('No such resource in your tenant');
  if (route.body) responses['415'] = errorRef('Body is not application/json');
  for (const [status, description] of Object.entries(route.errors ?? {})) {
    responses[status] = errorRef(description);
  }
  const security = isPublic
    ? []
    : enrolment
      ? [{ adminSession: [] }]
      : can({ kind: 'api_key' }, route.auth as Permission)
        ? [{ adminSession: [] }, { apiKey: [] }]
        : [{ adminSession: [] }];
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [`admin/${route.tag}`],
    security,
    'x-permission': route.auth,
    'x-mfa': isPublic || enrolment ? 'none' : (route.mfa ?? 'session'),
    'x-audit': route.audit,
    ...(parameters(route).length ? { parameters: parameters(route) } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

/** `{ '/admin/api/requests/{id}': { get: {...} } }` for every declared route. */
export function adminOpenApiPaths(routes: readonly AdminRoute[]): Record<string, Record<string, JsonSchema>> {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = `${ADMIN_PREFIX}${route.path}`.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return paths;
}

export const adminSecuritySchemes = {
  adminSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'fg_admin_session',
    description:
      'Set by POST /admin/api/session (password + TOTP or recovery code). State-changing requests also need `X-CSRF-Token` (returned at sign-in, and in the readable `fg_admin_csrf` cookie). An admin without an authenticator gets an enrolment session from the password alone: it may only use the `x-permission: enrolment` routes (every other route is 403 `MFA_ENROLMENT_REQUIRED`).',
  },
};
