import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { migrationStatus } from '../lib/db/migrate.js';
import type { AppContext } from './context.js';

/** Liveness, readiness and Prometheus metrics. */
export function registerOpsRoutes(app: FastifyInstance, ctx: Pick<AppContext, 'database' | 'metrics'>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    try {
      await sql`select 1`.execute(ctx.database.db);
      const m = await migrationStatus(ctx.database);
      if (m.current < m.latest) {
        return reply.code(503).send({ status: 'not_ready', store: 'ok', migrations: m });
      }
      return { status: 'ready', store: ctx.database.kind, migrations: m };
    } catch {
      return reply.code(503).send({ status: 'not_ready', store: 'unreachable' });
    }
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(body);
  });
}
