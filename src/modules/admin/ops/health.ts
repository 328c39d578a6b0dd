import { sql } from 'kysely';
import { deadLetterName, queueCatalog } from '../../../jobs/catalog.js';
import { migrationStatus } from '../../../lib/db/migrate.js';
import type { AdminDeps } from '../admin.types.js';

export interface AdminHealth {
  status: 'ok' | 'degraded';
  store: string;
  migrations: { current: number; latest: number };
  queues: { name: string; waiting: number; dead: number }[];
}

/** The operator's view: store and migrations, and how much waits in each queue and its dead-letter queue. */
export async function adminHealth(deps: Pick<AdminDeps, 'database'>): Promise<AdminHealth> {
  const migrations = await migrationStatus(deps.database);
  const names = queueCatalog.flatMap((q) => [q.name, deadLetterName(q.name)]);
  const counts = await sql<{ name: string; n: string }>`
    select name, count(*)::text as n from pgboss.job
    where name in (${sql.join(names)}) and state in ('created', 'retry')
    group by name`.execute(deps.database.db);
  const by = new Map(counts.rows.map((r) => [r.name, Number(r.n)]));
  const queues = queueCatalog.map((q) => ({
    name: q.name,
    waiting: by.get(q.name) ?? 0,
    dead: by.get(deadLetterName(q.name)) ?? 0,
  }));
  return {
    status: migrations.current < migrations.latest ? 'degraded' : 'ok',
    store: deps.database.kind,
    migrations,
    queues,
  };
}
