import { z } from 'zod';
import { adminRoute } from '../admin-route.js';
import { complianceSummary } from '../metrics/compliance-summary.js';

const nullableNumber = z.number().nullable();

/** The dashboard's charts: the seed's compliance metrics as JSON. */
export const metricsRoutes = [
  adminRoute({
    method: 'GET',
    path: '/metrics/summary',
    operationId: 'adminComplianceSummary',
    summary: 'Completion rate, deletion latency p50/p99, trust coefficient, requests per day',
    description:
      'All-time figures plus one row per UTC day for the last `days` (default 30). A global admin may pass `tenant`.',
    tag: 'metrics',
    auth: 'metrics.read',
    query: z.object({
      tenant: z.string().max(63).optional(),
      days: z.coerce.number().int().min(1).max(366).default(30),
    }),
    response: z.object({
      tenant: z.string().nullable(),
      generated_at: z.string(),
      window_days: z.number(),
      totals: z.object({
        received: z.number(),
        completed: z.number(),
        failed: z.number(),
        open: z.number(),
        overdue: z.number(),
      }),
      completion_rate: nullableNumber,
      deletion_latency_seconds: z.object({ p50: nullableNumber, p99: nullableNumber, count: z.number() }),
      trust_coefficient: nullableNumber,
      flow_completions: z.number(),
      erasure_requests: z.number(),
      per_day: z.array(
        z.object({
          date: z.string(),
          received: z.number(),
          completed: z.number(),
          failed: z.number(),
          completion_rate: nullableNumber,
          deletion_p50_seconds: nullableNumber,
          deletion_p99_seconds: nullableNumber,
        }),
      ),
    }),
    audit: [],
    handler: ({ principal, query }, deps) => complianceSummary(deps, principal, query),
  }),
];
