import type { AppContext } from '../../app/context.js';
import { failJobRetryingAfter } from '../../jobs/retry-after.js';
import { createDsrDeps } from '../dsr/index.js';
import { RetryableError } from './errors.js';
import { runConnectorTask, type ConnectorTaskJob } from './run-connector-task.js';

/** Parallel task loops per process; each takes one job at a time so one slow system does not hold others. */
const LOOPS = 4;

export async function startConnectorWorker(ctx: AppContext): Promise<void> {
  const deps = { ...ctx, dsr: createDsrDeps(ctx) };
  for (let i = 0; i < LOOPS; i++) {
    // After a job a loop looks for the next one at once (queue.work), so a burst of tasks runs back to back.
    await ctx.queue.work<ConnectorTaskJob>(
      'connector.run',
      { pollingIntervalSeconds: 1, batchSize: 1, includeMetadata: true },
      async (jobs) => {
        for (const job of jobs) {
          // A dead task's dead letter is queued by the runner, in the transaction that fails the request; the
          // job itself then ends normally. Retryable failures throw, and the queue backs off; when the system
          // said how long to wait (Retry-After), the next attempt also waits at least that long.
          try {
            await ctx.queue.claims.run('connector.run', job.id, () =>
              runConnectorTask(deps, job.data, { retryCount: job.retryCount, retryLimit: job.retryLimit }),
            );
          } catch (err) {
            const wait = err instanceof RetryableError ? (err.retryAfterSeconds ?? 0) : 0;
            if (wait <= 0) throw err;
            await failJobRetryingAfter(ctx.database.db, ctx.queue, job, err as Error, wait);
          }
        }
      },
    );
  }
}
