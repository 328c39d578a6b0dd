import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../lib/db/database.js';
import type { DB } from '../lib/db/schema.js';

/** The channel a job insert notifies, with the queue's name as payload. */
export const JOB_CHANNEL = 'flowguard_jobs';

/** The lock that serialises schema changes (the migrations' advisory lock). */
const SCHEMA_LOCK = 7_305_118_001;

/**
 * A trigger on pg-boss' job table that NOTIFYs the queue's name for every job inserted. PostgreSQL delivers a
 * notification when the inserting transaction commits (never for a rolled-back one, once per name per
 * transaction), so a job enqueued inside a request's transaction wakes the workers exactly when it becomes
 * visible, in this process or any other sharing the database, instead of at their next poll. Installed once,
 * after pg-boss has created its schema; a DDL statement is only run when the trigger is missing.
 */
export async function installJobNotifyTrigger(db: Kysely<DB>): Promise<void> {
  const present = async (tx: Kysely<DB>) =>
    (
      await sql<{ n: number }>`select 1 as n from pg_trigger
        where tgname = 'flowguard_job_notify' and tgrelid = 'pgboss.job'::regclass`.execute(tx)
    ).rows.length > 0;
  if (await present(db)) return;
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${SCHEMA_LOCK}::bigint)`.execute(tx);
    if (await present(tx)) return;
    await sql`create or replace function flowguard_job_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify(${sql.lit(JOB_CHANNEL)}, new.name);
        return null;
      end;
      $$`.execute(tx);
    await sql`create trigger flowguard_job_notify after insert on pgboss.job
      for each row execute function flowguard_job_notify()`.execute(tx);
  });
}

/**
 * Wakes this process' workers of a queue when a job of it is committed (see installJobNotifyTrigger). Polling
 * stays as the safety net: a notification lost with a connection only delays a job to the next poll.
 */
export function createJobWaker(logger: Logger, notify: (workerId: string) => void) {
  const workers = new Map<string, Set<string>>();
  let stop: (() => Promise<void>) | undefined;
  return {
    register(queue: string, workerId: string): void {
      const set = workers.get(queue) ?? new Set<string>();
      set.add(workerId);
      workers.set(queue, set);
    },
    async start(database: Pick<Database, 'listen'>): Promise<void> {
      if (stop) return;
      try {
        stop = await database.listen(JOB_CHANNEL, (queue) => {
          for (const id of workers.get(queue) ?? []) notify(id);
        });
      } catch (err) {
        logger.warn({ err }, 'job notifications unavailable: workers poll only');
      }
    },
    async stop(): Promise<void> {
      const s = stop;
      stop = undefined;
      workers.clear();
      if (s) await s();
    },
  };
}
