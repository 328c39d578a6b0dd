import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { SqlExecutor } from '../lib/db/database.js';

/**
 * Jobs a stopped process left `active`. pg-boss fails the jobs in hand on a graceful stop, but a process that is
 * killed (SIGKILL, OOM, power cut) leaves its jobs active until their expiry (15 minutes for connector.run), as
 * pg-boss cannot know whether another live process is still working on them. With the embedded store it can:
 * only one process opens the store at a time (its lock file), so when a worker process starts, every active job
 * belongs to a process that is gone. Each is failed as its expiry would fail it: retried after the queue's retry
 * delay, or dead-lettered after its last attempt. Only for the embedded store; on PostgreSQL other instances may
 * hold active jobs, and a dead instance is told apart by its lock instead (job-claims.ts).
 */
export async function failOrphanedJobs(
  boss: Pick<PgBoss, 'fail'>,
  sql: SqlExecutor,
  logger: Pick<Logger, 'warn'>,
): Promise<number> {
  const { rows } = await sql.executeSql(`select name, id from pgboss.job where state = 'active'`);
  const queues = new Set<string>();
  for (const { name, id } of rows as { name: string; id: string }[]) {
    queues.add(name);
    await boss.fail(name, id, { message: 'the process working on the job stopped' });
  }
  if (rows.length > 0) {
    logger.warn(
      { jobs: rows.length, queues: [...queues] },
      'jobs left active by a stopped process were failed for a retry',
    );
  }
  return rows.length;
}
