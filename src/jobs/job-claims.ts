import crypto from 'node:crypto';
import { sql } from 'kysely';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Database } from '../lib/db/database.js';

/** The advisory-lock namespace of instance locks (other flowguard locks use single-bigint keys). */
const INSTANCE_LOCK_NAMESPACE = 7_305_118;
/** How often a live instance looks for jobs of dead ones. */
const REAP_INTERVAL_MS = 10_000;

/**
 * Jobs of a killed instance, found at once. pg-boss cannot tell a job whose worker died from one still running,
 * so on PostgreSQL it waits for the job's expiry (15 minutes for connector.run) before retrying it. Each working
 * instance holds an advisory lock on a random instance number, on a session of its own, for as long as it
 * lives, and claims the long jobs it runs (a row in job_claims). When a process is killed, PostgreSQL ends its
 * session and drops the lock; every REAP_INTERVAL_MS each live instance tries the locks of the instances that
 * hold claims, and fails the jobs of those it can take, as their expiry would: retried at once by a live worker,
 * or dead-lettered after the last attempt. An instance cut off from the database only briefly may see its job
 * run a second time, as after an expiry: tasks are idempotent.
 *
 * The embedded store needs none of this: one process opens it at a time, and the one starting fails every job
 * left active (orphaned-jobs.ts).
 */
export function createJobClaims(database: Database, boss: Pick<PgBoss, 'fail'>, logger: Logger) {
  const instance = crypto.randomInt(1, 2 ** 31 - 1);
  const db = database.db;
  let release: (() => Promise<void>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reaping: Promise<number> | undefined;

  /** Fail the claimed jobs of instances whose lock is free (their process is gone); how many were failed. */
  async function reap(): Promise<number> {
    const others = await db
      .selectFrom('job_claims')
      .select('instance')
      .distinct()
      .where('instance', '<>', instance)
      .execute();
    let failed = 0;
    for (const { instance: other } of others) {
      // Taken and let go in the same statement's transaction: free means no live session holds it.
      const free = await sql<{ free: boolean }>`
        select pg_try_advisory_xact_lock(${INSTANCE_LOCK_NAMESPACE}, ${other}) as free`.execute(db);
      if (!free.rows[0]?.free) continue;
      const claims = await db
        .deleteFrom('job_claims')
        .where('instance', '=', other)
        .returning(['job_id', 'queue'])
        .execute();
      if (claims.length === 0) continue;
      // Which of them are still running, in one statement (the others ended, or were failed by their expiry).
      const active = await sql<{ id: string; name: string }>`
        select j.id::text as id, j.name from pgboss.job j
        where j.id = any(${claims.map((c) => c.job_id)}::uuid[]) and j.state = 'active'`.execute(db);
      for (const c of claims) {
        if (!active.rows.some((j) => j.id === c.job_id && j.name === c.queue)) continue;
        await boss.fail(c.queue, c.job_id, { message: 'the process working on the job stopped' });
        failed++;
      }
    }
    if (failed > 0) logger.warn({ jobs: failed }, 'jobs of a stopped instance were failed for a retry');
    return failed;
  }

  const tick = () => {
    reaping ??= reap()
      .catch((err: unknown) => {
        logger.warn({ err }, 'looking for jobs of stopped instances failed; will try again');
        return 0;
      })
      .finally(() => (reaping = undefined));
  };

  return {
    instance,
    /** PostgreSQL only: take this instance's lock and look for dead instances' jobs now and then. */
    async start(): Promise<void> {
      if (!database.holdLock || release) return;
      release = await database.holdLock(INSTANCE_LOCK_NAMESPACE, instance);
      tick();
      timer = setInterval(tick, REAP_INTERVAL_MS);
      timer.unref();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await reaping;
      await release?.();
      release = undefined;
    },
    /**
     * Run a job under a claim: the claim is written before `run` starts and removed after it ends (however it
     * ends). Without an instance lock (the embedded store, or before start) `run` just runs.
     */
    async run<T>(queue: string, jobId: string, run: () => Promise<T>): Promise<T> {
      if (!release) return run();
      await db
        .insertInto('job_claims')
        .values({ job_id: jobId, queue, instance })
        .onConflict((oc) => oc.column('job_id').doUpdateSet({ instance, queue }))
        .execute();
      try {
        return await run();
      } finally {
        await db
          .deleteFrom('job_claims')
          .where('job_id', '=', jobId)
          .where('instance', '=', instance)
          .execute()
          .catch((err: unknown) =>
            logger.warn({ err }, 'a job claim was not removed (it goes when this instance does)'),
          );
      }
    },
    reap,
  };
}

export type JobClaims = ReturnType<typeof createJobClaims>;
