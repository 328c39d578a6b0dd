import { z } from 'zod';
import { verifyAuditChain } from '../../audit/index.js';
import { adminRoute } from '../admin-route.js';
import { auditPage } from '../audit/audit-page.js';

/** The audit log: a page of events and the chain's verification. */
export const auditRoutes = [
  adminRoute({
    method: 'GET',
    path: '/audit',
    operationId: 'adminAuditLog',
    summary: 'A page of the audit log, newest first',
    description:
      'Filters: event_type, request_id; paging with `before` (the previous page `next_before`). A global admin may pass `tenant`.',
    tag: 'audit',
    auth: 'audit.read',
    query: z.object({
      tenant: z.string().max(63).optional(),
      event_type: z
        .string()
        .regex(/^[a-z_]+\.[a-z_]+$/)
        .optional(),
      request_id: z.uuid().optional(),
      before: z.coerce
        .number()
        .int()
        .min(1)
        .optional()
        .describe('Events with a lower seq only: `next_before` of the previous page; absent: the newest'),
      limit: z.coerce.number().int().min(1).max(500).default(100).describe('Events per page (1-500)'),
    }),
    response: z.object({
      events: z.array(
        z.object({
          seq: z.number(),
          id: z.string(),
          tenant: z.string(),
          occurred_at: z.string(),
          actor_type: z.string(),
          actor_id: z.string().nullable(),
          event_type: z.string(),
          subject_ref: z.string().nullable(),
          request_id: z.string().nullable(),
          data: z.record(z.string(), z.unknown()),
          hash: z.string(),
        }),
      ),
      next_before: z
        .number()
        .nullable()
        .describe('`before` for the next (older) page; null on the last page'),
    }),
    audit: ['admin.access'],
    handler: ({ principal, query }, deps) => auditPage(deps, principal, query),
  }),
  adminRoute({
    method: 'GET',
    path: '/audit/verify',
    operationId: 'adminVerifyAudit',
    summary: 'Verify the hash chain of the whole audit log (or from `from_seq`)',
    description:
      'The chain is one for the installation: verification covers every tenant and returns only seq numbers and a fault kind.',
    tag: 'audit',
    auth: 'audit.verify',
    query: z.object({ from_seq: z.coerce.number().int().min(1).optional() }),
    response: z.object({
      ok: z.boolean(),
      rows: z.number().optional(),
      first_bad_seq: z.number().optional(),
      reason: z.string().optional(),
    }),
    audit: [],
    handler: async ({ query }, deps) => {
      const r = await verifyAuditChain(deps.database.db, { fromSeq: query.from_seq });
      return r.ok
        ? { ok: true, rows: r.rows }
        : { ok: false, first_bad_seq: r.firstBadSeq, reason: r.reason };
    },
  }),
];
