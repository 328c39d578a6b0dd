import crypto from 'node:crypto';
import PgBoss from 'pg-boss';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { withHeldWrites } from '../lib/db/held-writes.js';
import { executorFor, type Database } from '../lib/db/database.js';
import type { DB } from '../lib/db/schema.js';
import type { QueueOverride } from '../config/config.js';
import { deadLetterName, queueCatalog } from './catalog.js';
import { createJobClaims } from './job-claims.js';
import { failOrphanedJobs } from './orphaned-jobs.js';
import { createJobWaker, installJobNotifyTrigger } from './wake-on-commit.js';

/**
 * The durable queue is pg-boss on flowguard's own database, so a job can be enqueued inside the transaction
 * that makes it necessary (outbox): if the transaction rolls back, the job was never sent.
 */

/** A worker's options: how many jobs it takes at a time, and how often it polls when nothing woke it. */
export interface WorkOptions {
  batchSize?: number;
  includeMetadata?: boolean;
  pollingIntervalSeconds: number;
}

/** How often (at least; see `work`) a worker polls while its jobs' notifications arrive: the safety net. */
export const SAFETY_POLL_SECONDS = 30;

export interface QueueOptions {
  /** Operator overrides of the catalog's retry policy and expiry, by queue name. */
  overrides?: Record<string, QueueOverride>;
  /**
   * How often maintenance runs (one process at a time, whichever gets there first): it fails each active job
   * past its expiry, so the job of a worker that died mid-task is retried by a live one. pg-boss' default
   * (120 s) when unset. Claimed jobs (job-claims.ts) of a killed instance are retried long before that.
   */
  maintenanceIntervalSeconds?: number | undefined;
  /** Run workers and maintenance in this process (serve/worker). CLI commands only send. */
  work: boolean;
}

export function createQueue(database: Database, logger: Logger, opts: QueueOptions) {
  const boss = new PgBoss({
    db: database.sql as PgBoss.Db,
    schema: 'pgboss',
    supervise: opts.work,
    schedule: opts.work,
    // pg-boss' own housekeeping; flowguard's retention sweeps its own tables separately.
    archiveCompletedAfterSeconds: 3600,
    deleteAfterDays: 7,
    monitorStateIntervalSeconds: 60,
    ...(opts.maintenanceIntervalSeconds
      ? { maintenanceIntervalSeconds: opts.maintenanceIntervalSeconds }
      : {}),
  });
  boss.on('error', (err: Error) => logger.error({ err }, 'queue error'));
  let started = false;
  const waker = createJobWaker(logger, (workerId) => boss.notifyWorker(workerId));
  const claims = createJobClaims(database, boss, logger);
  /** Jobs held by an open `batch`, by transaction handle (gone with it). */
  const batches = new WeakMap<Kysely<DB>, PgBoss.JobInsert[]>();

  function work<T>(
    name: string,
    options: WorkOptions & { includeMetadata: true },
    handler: (jobs: PgBoss.JobWithMetadata<T>[]) => Promise<unknown>,
  ): Promise<string>;
  function work<T>(
    name: string,
    options: WorkOptions,
    handler: (jobs: PgBoss.Job<T>[]) => Promise<unknown>,
  ): Promise<string>;
  async function work<T>(
    name: string,
    options: WorkOptions,
    // With includeMetadata the jobs carry their metadata; a handler of plain jobs takes those as well.
    handler: (jobs: PgBoss.JobWithMetadata<T>[]) => Promise<unknown>,
  ): Promise<string> {
    const batchSize = options.batchSize ?? 1;
    // The worker's own poll is the safety net; its interval applies through the waker while notifications
    // do not arrive. Spread over half as much again, so the workers started together do not all poll at once
    // (on the embedded store a burst of fetches would hold the event loop for tens of milliseconds).
    const pollingIntervalSeconds = Math.max(
      options.pollingIntervalSeconds,
      SAFETY_POLL_SECONDS * (1 + Math.random() / 2),
    );
    let workerId = '';
    workerId = await boss.work<T>(
      name,
      { ...options, batchSize, pollingIntervalSeconds },
      async (jobs: PgBoss.Job<T>[]) => {
        try {
          return await handler(jobs as PgBoss.JobWithMetadata<T>[]);
        } finally {
          // A full batch: there may be more waiting. Look again at once instead of after the interval.
          if (jobs.length >= batchSize && workerId) boss.notifyWorker(workerId);
        }
      },
    );
    waker.register(name, workerId, options.pollingIntervalSeconds * 1000);
    return workerId;
  }

  return {
    boss,
    /** Long jobs run under a claim, so a killed instance's jobs are retried at once (job-claims.ts). */
    claims,
    /**
     * Run `handler` for the jobs of a queue in this process (serve/worker), `batchSize` (default 1) at a time.
     * The worker is woken when a job of its queue is committed or becomes due (a retry's backoff, `startAfter`),
     * and after a full batch looks for the next one at once. It polls every `pollingIntervalSeconds` only while
     * notifications do not arrive (wake-on-commit.ts), otherwise every SAFETY_POLL_SECONDS. Returns its id.
     */
    work,
    /** Whether job notifications are known to reach this process (else its workers poll; see `work`). */
    get notificationsArrive(): boolean {
      return waker.live;
    },
    /**
     * Run `work` in this process (serve/worker) soon after rows of `table` are committed, by any process: the
     * table's wake trigger (migration 0016) notifies. Runs are coalesced; the caller's own schedule covers a
     * notification that never came.
     */
    async onCommitted(table: string, work: () => Promise<unknown>): Promise<void> {
      waker.onTable(table, work);
      // A CLI or test process that starts one worker listens from then on.
      await waker.start(database);
    },
    async start(): Promise<void> {
      if (started) return;
      await boss.start();
      started = true;
      for (const spec of queueCatalog) {
        const dead = deadLetterName(spec.name);
        const options = {
          retryLimit: opts.overrides?.[spec.name]?.retryLimit ?? spec.retryLimit,
          retryDelay: opts.overrides?.[spec.name]?.retryDelaySeconds ?? spec.retryDelay,
          retryBackoff: spec.retryBackoff,
          expireInSeconds: opts.overrides?.[spec.name]?.expireInSeconds ?? spec.expireInSeconds,
          policy: spec.policy ?? 'standard',
        };
        if (!(await boss.getQueue(dead))) await boss.createQueue(dead, { name: dead, policy: 'standard' });
        if (await boss.getQueue(spec.name))
          await boss.updateQueue(spec.name, { name: spec.name, ...options, deadLetter: dead });
        else await boss.createQueue(spec.name, { name: spec.name, ...options, deadLetter: dead });
      }
      await installJobNotifyTrigger(database.db);
      if (opts.work) await waker.start(database);
      // One process at a time opens the embedded store: its active jobs were left by one that was killed.
      if (opts.work && database.kind === 'pglite') await failOrphanedJobs(boss, database.sql, logger);
      // Several instances may share PostgreSQL: each holds a lock while it lives, so the others can tell.
      if (opts.work && database.kind === 'postgres') await claims.start();
    },
    async stop(): Promise<void> {
      if (!started) return;
      started = false;
      await waker.stop();
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      // After the jobs in hand have ended: letting the lock go earlier would have them failed under us.
      await claims.stop();
    },
    /**
     * Enqueue inside an open Kysely transaction (or on the pool when tx is the root handle). Inside `batch` on
     * the same handle, a job without options is held and inserted with the batch's others; its id is returned
     * at once (a `short` or `singleton` queue may still drop it as a duplicate, as it would a sent one).
     */
    send(
      tx: Kysely<DB>,
      name: string,
      data: object,
      options: PgBoss.SendOptions = {},
    ): Promise<string | null> {
      const held = batches.get(tx);
      if (held && Object.keys(options).length === 0) {
        const id = crypto.randomUUID();
        held.push({ id, name, data });
        return Promise.resolve(id);
      }
      return boss.send(name, data, { ...options, db: executorFor(tx) as PgBoss.Db });
    },
    /**
     * Run `fn` with the jobs it sends through the transaction `tx` (the same handle, by any path) inserted
     * together, in one statement, once `fn` has returned: still inside the transaction, so they run only after
     * it commits and vanish with a rollback. When `fn` throws, none of them is inserted (the transaction is
     * rolling back). Nested batches on one handle are one batch (the outermost inserts).
     */
    batch<T>(tx: Kysely<DB>, fn: () => Promise<T>): Promise<T> {
      return withHeldWrites(
        batches,
        tx,
        (): PgBoss.JobInsert[] => [],
        fn,
        async (jobs) => {
          if (jobs.length > 0) await boss.insert(jobs, { db: executorFor(tx) as PgBoss.Db });
        },
      );
    },
  };
}

export type Queue = ReturnType<typeof createQueue>;
