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
 * Wakes this process' workers of a queue when a job of it is committed (see installJobNotifyTrigger), and runs
 * the work registered for a table when rows of it are committed (`table:<name>`, see migration 0016). Polling
 * and schedules stay as the safety net: a notification lost with a connection only delays the work.
 */
export function createJobWaker(logger: Logger, notify: (workerId: string) => void) {
  const workers = new Map<string, Set<string>>();
  const tables = new Map<string, ReturnType<typeof coalesced>>();
  let listening: Promise<void> | undefined;
  let stop: (() => Promise<void>) | undefined;
  return {
    register(queue: string, workerId: string): void {
      const set = workers.get(queue) ?? new Set<string>();
      set.add(workerId);
      workers.set(queue, set);
    },
    /** Run `work` after rows of `table` are committed: once at a time, once more for what came meanwhile. */
    onTable(table: string, work: () => Promise<unknown>): void {
      tables.set(
        `table:${table}`,
        coalesced(work, (err) =>
          logger.warn({ err, table }, 'work after a commit failed: its schedule retries'),
        ),
      );
    },
    /** Listen, once however many callers ask (concurrent ones wait for the same start). */
    start(database: Pick<Database, 'listen'>): Promise<void> {
      listening ??= database
        .listen(JOB_CHANNEL, (name) => {
          for (const id of workers.get(name) ?? []) notify(id);
          tables.get(name)?.run();
        })
        .then(
          (s) => {
            stop = s;
          },
          (err: unknown) => logger.warn({ err }, 'job notifications unavailable: workers poll only'),
        );
      return listening;
    },
    async stop(): Promise<void> {
      await listening;
      const s = stop;
      stop = undefined;
      listening = undefined;
      workers.clear();
      if (s) await s();
      const running = [...tables.values()];
      tables.clear();
      await Promise.all(running.map((t) => t.idle()));
    },
  };
}

/**
 * `run` starts `work` unless it is running; a `run` while it is running has it go once more when it ends (what
 * was committed meanwhile may have come after its read). `idle` resolves when it is not running.
 */
function coalesced(work: () => Promise<unknown>, onError: (err: unknown) => void) {
  let running: Promise<void> | undefined;
  let again = false;
  const loop = async () => {
    do {
      again = false;
      try {
        await work();
      } catch (err) {
        onError(err);
      }
    } while (again);
    running = undefined;
  };
  return {
    run(): void {
      if (running) again = true;
      else running = loop();
    },
    idle: (): Promise<void> => running ?? Promise.resolve(),
  };
}
