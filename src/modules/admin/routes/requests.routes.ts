import { z } from 'zod';
import {
  denyRequest,
  DENIAL_REASONS,
  exportRequest,
  extendRequest,
  EXTENSION_REASONS,
  REQUEST_STATUSES,
  REQUEST_TYPES,
} from '../../dsr/index.js';
import { adminRoute } from '../admin-route.js';
import { decision, idParams, requestDetail, requestSummary } from '../admin.schemas.js';
import { actorOf } from '../admin.types.js';
import { APPROVAL_REASONS, approveRequest } from '../requests/approve-request.js';
import { listQueue } from '../requests/list-queue.js';
import { downloadProof } from '../requests/proof.js';
import { findScopedRequest, viewRequest } from '../requests/view-request.js';
import { scopeTenant } from '../tenant-scope.js';

/** The request queue and the decisions a privacy officer takes on it. */
export const requestRoutes = [
  adminRoute({
    method: 'GET',
    path: '/requests',
    operationId: 'adminListRequests',
    summary: 'The request queue, most urgent first',
    description:
      'Filters: status, type, overdue, due_before (ISO date-time); keyset paging with `cursor` (the previous page `next_cursor`). A global admin may pass `tenant`.',
    tag: 'requests',
    auth: 'requests.read',
    query: z.object({
      tenant: z.string().max(63).optional(),
      status: z.enum(REQUEST_STATUSES).optional(),
      type: z.enum(REQUEST_TYPES).optional(),
      overdue: z.stringbool().optional(),
      due_before: z.iso.datetime({ offset: true }).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50).describe('Requests per page (1-200)'),
      cursor: z
        .string()
        .max(200)
        .optional()
        .describe(
          'Where the page starts: `next_cursor` of the previous page (same filters); absent: the first',
        ),
    }),
    response: z.object({
      requests: z.array(requestSummary),
      next_cursor: z.string().nullable().describe('The next page cursor; null on the last page'),
    }),
    audit: ['admin.access'],
    handler: ({ principal, query }, deps) => listQueue(deps, principal, query),
  }),
  adminRoute({
    method: 'GET',
    path: '/requests/:id',
    operationId: 'adminGetRequest',
    summary: 'One request: per-system tasks, errors and its audit timeline',
    tag: 'requests',
    auth: 'requests.read',
    params: idParams,
    response: requestDetail,
    audit: ['admin.access'],
    handler: ({ principal, params }, deps) => viewRequest(deps, principal, params.id),
  }),
  adminRoute({
    method: 'POST',
    path: '/requests/:id/approve',
    operationId: 'adminApproveRequest',
    summary: 'Approve a request the person has not confirmed (verified another way)',
    description:
      'Only a request awaiting verification. The reason records how staff verified the person; the request is then carried out at once.',
    tag: 'requests',
    auth: 'requests.decide',
    mfa: 'fresh',
    params: idParams,
    body: z.strictObject({ reason_code: z.enum(APPROVAL_REASONS) }),
    response: decision,
    audit: ['request.approved', 'request.verified'],
    errors: { 409: 'The request is not awaiting verification' },
    handler: ({ principal, params, body }, deps) =>
      deps.database.db
        .transaction()
        .execute((tx) =>
          approveRequest(tx, deps, principal, { requestId: params.id, reason: body.reason_code }),
        ),
  }),
  adminRoute({
    method: 'POST',
    path: '/requests/:id/deny',
    operationId: 'adminDenyRequest',
    summary: 'Deny a request not yet carried out, with a reason (the person is told)',
    tag: 'requests',
    auth: 'requests.decide',
    params: idParams,
    body: z.strictObject({ reason_code: z.enum(DENIAL_REASONS) }),
    response: decision.extend({ deny_reason: z.string(), notified: z.boolean() }),
    audit: ['request.denied'],
    errors: { 409: 'The request was already carried out or closed' },
    handler: ({ principal, params, body }, deps) =>
      deps.database.db.transaction().execute((tx) =>
        denyRequest(tx, deps.dsr, {
          tenantId: scopeTenant(principal),
          requestId: params.id,
          reasonCode: body.reason_code,
          actor: actorOf(principal),
        }),
      ),
  }),
  adminRoute({
    method: 'POST',
    path: '/requests/:id/extend',
    operationId: 'adminExtendRequest',
    summary: 'Extend a deadline within what the law allows, with a reason (the person is told)',
    tag: 'requests',
    auth: 'requests.decide',
    params: idParams,
    body: z.strictObject({ days: z.number().int().min(1).max(92), reason_code: z.enum(EXTENSION_REASONS) }),
    response: z.object({
      id: z.string(),
      reference: z.string(),
      regime: z.string(),
      due_at: z.string(),
      original_due_at: z.string(),
      extension_reason: z.string(),
      notified: z.boolean(),
    }),
    audit: ['request.extended'],
    errors: { 409: 'Closed, past its deadline, or already at the longest extension allowed' },
    handler: ({ principal, params, body }, deps) =>
      deps.database.db.transaction().execute((tx) =>
        extendRequest(tx, deps.dsr, {
          tenantId: scopeTenant(principal),
          requestId: params.id,
          days: body.days,
          reasonCode: body.reason_code,
          actor: actorOf(principal),
        }),
      ),
  }),
  adminRoute({
    method: 'GET',
    path: '/requests/:id/export',
    operationId: 'adminDownloadExport',
    summary: 'Download the access bundle of a completed access request (personal data)',
    description:
      '`format=json` (default) or `format=csv&category=<category>`. Needs the second factor in the last 15 minutes.',
    tag: 'requests',
    auth: 'exports.download',
    mfa: 'fresh',
    params: idParams,
    query: z.object({ format: z.enum(['json', 'csv']).optional(), category: z.string().max(64).optional() }),
    response: { file: ['application/json', 'text/csv'] },
    audit: ['export.generated'],
    errors: { 409: 'Not a completed access request' },
    handler: async ({ principal, params, query, reply }, deps) => {
      const row = await findScopedRequest(deps.database.db, principal, params.id);
      const out = await exportRequest(deps.database.db, deps.dsr, {
        tenantId: row.tenant_id,
        requestId: row.id,
        actor: actorOf(principal),
        format: query.format,
        category: query.category,
      });
      return reply
        .type(out.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="${out.filename}"`)
        .send(out.body);
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/requests/:id/proof',
    operationId: 'adminProofReport',
    summary: 'Proof report of a request for a regulator (no personal data)',
    tag: 'requests',
    auth: 'proofs.read',
    params: idParams,
    response: z.record(z.string(), z.unknown()),
    audit: ['admin.access'],
    handler: async ({ principal, params }, deps) =>
      (await downloadProof(deps, principal, params.id)) as unknown as Record<string, unknown>,
  }),
];
