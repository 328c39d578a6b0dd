import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { AppError } from '../../lib/errors.js';
import { requireJson } from '../../lib/http/http.js';
import { apiKeyOf, requireApiKey } from '../apikeys/index.js';
import { createStaffRequest } from './create-staff-request.js';
import type { DsrDeps } from './dsr.types.js';
import {
  EXPORT_LINK_TTL_MAX,
  EXPORT_LINK_TTL_MIN,
  EXPORT_LINK_TTL_SECONDS,
  exportLinkUrl,
  signExportToken,
} from './export-links.js';
import { exportRequest, type RequestExport } from './export-request.js';
import { listRequests } from './list-requests.js';
import { proofReport } from './proof-report.js';
import { parseStaffRequest } from './request-input.js';
import { requestIdFrom } from './request-id.js';
import { getRequestView } from './request-view.js';
import { createDsrRepo } from './dsr.repo.js';

export type RequestRouteDeps = Pick<AppContext, 'config' | 'database' | 'tenants' | 'clock' | 'keyring'>;

const repo = createDsrRepo();

type Query = Record<string, string | undefined>;
const idOf = (req: FastifyRequest) => requestIdFrom((req.params as { id?: string }).id);

/** Send an export: JSON as the bundle, CSV as a download; never cached (it is personal data). */
export function sendExport(reply: FastifyReply, out: RequestExport): FastifyReply {
  void reply.header('cache-control', 'no-store');
  if (out.format === 'csv') {
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${out.filename}"`)
      .send(out.body);
  }
  return reply.type('application/json; charset=utf-8').send(out.body);
}

/**
 * `/v1/requests`: staff-entered privacy requests and what comes of them. The API key's tenant scopes every
 * query: another tenant's request is simply not found.
 */
export function registerRequestRoutes(app: FastifyInstance, ctx: RequestRouteDeps, deps: DsrDeps): void {
  const db = ctx.database.db;
  const auth = { preHandler: requireApiKey(ctx) };

  app.post('/v1/requests', auth, async (req, reply) => {
    const principal = apiKeyOf(req);
    const request = parseStaffRequest(requireJson(req));
    const tenant = await ctx.tenants.get(principal.tenantId);
    const created = await createStaffRequest(db, deps, {
      tenant,
      request,
      channel: 'api',
      actor: { type: 'api_key', id: principal.keyId },
    });
    return reply
      .code(created.joined ? 200 : 202)
      .send({ id: created.id, reference: created.reference, status: created.status });
  });

  app.get('/v1/requests', auth, async (req) => {
    const q = req.query as Query;
    const limit = q.limit === undefined ? undefined : Number(q.limit);
    const requests = await listRequests(
      db,
      {
        tenantId: apiKeyOf(req).tenantId,
        status: q.status,
        type: q.type,
        overdue: q.overdue === 'true' || q.overdue === '1',
        limit,
      },
      ctx.clock(),
    );
    return { requests };
  });

  app.get('/v1/requests/:id', auth, async (req) =>
    getRequestView(db, apiKeyOf(req).tenantId, idOf(req), ctx.clock()),
  );

  app.get('/v1/requests/:id/export', auth, async (req, reply) => {
    const principal = apiKeyOf(req);
    const q = req.query as Query;
    const out = await exportRequest(db, deps, {
      tenantId: principal.tenantId,
      requestId: idOf(req),
      actor: { type: 'api_key', id: principal.keyId },
      format: q.format,
      category: q.category,
    });
    return sendExport(reply, out);
  });

  app.post('/v1/requests/:id/export-link', auth, async (req, reply) => {
    const principal = apiKeyOf(req);
    const body = (req.body === undefined && !req.jsonInvalid ? {} : requireJson(req)) as {
      ttl_seconds?: unknown;
    };
    const ttl = body?.ttl_seconds ?? EXPORT_LINK_TTL_SECONDS;
    if (
      typeof ttl !== 'number' ||
      !Number.isInteger(ttl) ||
      ttl < EXPORT_LINK_TTL_MIN ||
      ttl > EXPORT_LINK_TTL_MAX
    ) {
      throw new AppError(
        'VALIDATION_FAILED',
        { field: 'ttl_seconds' },
        `ttl_seconds must be an integer from ${EXPORT_LINK_TTL_MIN} to ${EXPORT_LINK_TTL_MAX}`,
      );
    }
    const request = await repo.findById(db, principal.tenantId, idOf(req));
    if (!request) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
    if (request.type !== 'access' || request.status !== 'completed') {
      throw new AppError(
        'CONFLICT',
        { status: request.status },
        'only a completed access request has an export',
      );
    }
    const expiresAt = new Date(ctx.clock().getTime() + ttl * 1000);
    const token = signExportToken(ctx.keyring, { requestId: request.id, expiresAt });
    const base = ctx.config.server.publicUrl ?? `${req.protocol}://${req.host}`;
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ url: exportLinkUrl(base, token), expires_at: expiresAt.toISOString() });
  });

  app.get('/v1/requests/:id/proof', auth, async (req) =>
    proofReport(db, { tenantId: apiKeyOf(req).tenantId, requestId: idOf(req), now: ctx.clock() }),
  );
}
