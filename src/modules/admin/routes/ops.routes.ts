import { z } from 'zod';
import { adminRoute } from '../admin-route.js';
import { idParams } from '../admin.schemas.js';
import { adminHealth } from '../ops/health.js';
import { listAdminDeadLetters, retryAdminDeadLetter } from '../ops/dead-letters.js';
import { triggerRetention } from '../ops/run-retention.js';

/** The operator's routes: the dead-letter queue, retention runs and health. */
export const opsRoutes = [
  adminRoute({
    method: 'GET',
    path: '/dead-letters',
    operationId: 'adminListDeadLetters',
    summary: 'Jobs that exhausted their retries (payloads hold ids only)',
    tag: 'dead-letters',
    auth: 'dlq.read',
    query: z.object({
      tenant: z.string().max(63).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      cursor: z.uuid({ message: 'must be the next_cursor of the previous page' }).optional(),
    }),
    response: z.object({
      next_cursor: z.string().nullable(),
      dead_letters: z.array(
        z.object({
          id: z.string(),
          queue: z.string(),
          data: z.record(z.string(), z.unknown()),
          created_at: z.string(),
        }),
      ),
    }),
    audit: ['admin.access'],
    handler: ({ principal, query }, deps) => listAdminDeadLetters(deps, principal, query),
  }),
  adminRoute({
    method: 'POST',
    path: '/dead-letters/:id/retry',
    operationId: 'adminRetryDeadLetter',
    summary: 'Replay a dead letter on its queue (a data-map task is set pending again)',
    tag: 'dead-letters',
    auth: 'dlq.retry',
    params: idParams,
    response: z.object({ id: z.string(), queue: z.string() }),
    audit: ['admin.access'],
    handler: ({ principal, params }, deps) => retryAdminDeadLetter(deps, principal, params.id),
  }),
  adminRoute({
    method: 'POST',
    path: '/retention/run',
    operationId: 'adminRunRetention',
    summary: 'Queue a retention sweep now (every tenant; global admins only)',
    description:
      'The workers run it like the scheduled one. `queued: false` when a sweep is already waiting.',
    tag: 'retention',
    auth: 'retention.run',
    response: z.object({ queued: z.boolean(), job_id: z.string().nullable() }),
    status: 202,
    audit: ['admin.access'],
    handler: ({ principal }, deps) => triggerRetention(deps, principal),
  }),
  adminRoute({
    method: 'GET',
    path: '/health',
    operationId: 'adminHealth',
    summary: 'Store, migrations and queue depths (waiting and dead) per queue',
    tag: 'health',
    auth: 'health.read',
    response: z.object({
      status: z.enum(['ok', 'degraded']),
      store: z.string(),
      migrations: z.object({ current: z.number(), latest: z.number() }),
      queues: z.array(z.object({ name: z.string(), waiting: z.number(), dead: z.number() })),
    }),
    audit: [],
    handler: (_input, deps) => adminHealth(deps),
  }),
];
