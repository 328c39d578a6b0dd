import type { Job } from 'pg-boss';
import type { AppContext } from '../../app/context.js';
import { deadLetterName } from '../../jobs/catalog.js';
import { createDsrDeps } from '../dsr/index.js';
import { runConnectorTask, type ConnectorTaskJob } from './run-connector-task.js';

/** Parallel task loops per process; each takes one job at a time so one slow system does not hold others. */
const LOOPS = 4;

export async function startConnectorWorker(ctx: AppContext): Promise<void> {
  const deps = { ...ctx, dsr: createDsrDeps(ctx) };
  for (let i = 0; i < LOOPS; i++) {
    await ctx.queue.boss.work<ConnectorTaskJob>(
      'connector.run',
      { pollingIntervalSeconds: 1, batchSize: 1, includeMetadata: true },
      async (jobs: Job<ConnectorTaskJob>[]) => {
        for (const job of jobs) {
          const meta = job as unknown as { retryCount?: number; retryLimit?: number };
          const result = await runConnectorTask(deps, job.data, {
            retryCount: meta.retryCount ?? 0,
            retryLimit: meta.retryLimit ?? 0,
          });
          // A permanent failure skips the retries: park the job in the dead-letter queue for a replay.
          if (result === 'dead') await ctx.queue.boss.send(deadLetterName('connector.run'), job.data);
        }
      },
    );
  }
}
