import { sql, type Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import { executorFor } from '../lib/db/database.js';
import type { DB } from '../lib/db/schema.js';
import type { Queue } from './queue.js';

/** The longest a system's Retry-After may hold a job back; a longer one is cut to this. */
export const MAX_RETRY_AFTER_SECONDS = 3600;

/**
 * Fail an active job whose next attempt must not start before `seconds` from now (a system answered with
 * Retry-After): in one transaction pg-boss records the failure with its own backoff, and the next attempt is
 * moved to the later of that backoff and the wait (at most MAX_RETRY_AFTER_SECONDS). The worker's handler then
 * returns normally; pg-boss completes only active jobs, so the failure stands. A job on its last attempt is
 * failed as usual (it has no next attempt to move).
 */
export async function failJobRetryingAfter(
  db: Kysely<DB>,
  queue: Pick<Queue, 'boss'>,
  job: { name: string; id: string },
  error: Error,
  seconds: number,
): Promise<void> {
  const wait = Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, Math.ceil(seconds)));
  await db.transaction().execute(async (tx) => {
    await queue.boss.fail(job.name, job.id, error, { db: executorFor(tx) as PgBoss.Db });
    await sql`
      update pgboss.job set start_after = greatest(start_after, now() + make_interval(secs => ${wait}))
      where name = ${job.name} and id = ${job.id}::uuid and state = 'retry'`.execute(tx);
  });
}
