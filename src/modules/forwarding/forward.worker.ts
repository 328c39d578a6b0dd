import type PgBoss from 'pg-boss';
import { z } from 'zod';
import type { AppContext } from '../../app/context.js';
import { drainConversation, ForwardDeliveryError, type DrainDeps } from './drain-conversation.js';
import { FORWARD_QUEUE } from './enqueue-forward.js';

/** The `forward.drain` worker: one job = drain one conversation for one target; a failed head fails the job. */

const drainKeySchema = z.object({
  tenantId: z.string().min(1),
  conversationKey: z.string().min(1),
  targetIndex: z.number().int().min(0),
});

/** Parallel drains (different conversations); one conversation is only ever drained by one at a time. */
const CONCURRENCY = 2;
const POLLING_INTERVAL_SECONDS = 0.5;
/** Well inside the queue's expireInSeconds (a drain that ran past it could be started twice). */
const BUDGET_MS = 60_000;
const RETRY_MARGIN_SECONDS = 30;

/** Upper bound of pg-boss' next retry delay (its backoff is delay * 2^(n+1) / 2 * (1 + random)). */
export function nextRetryWithinSeconds(
  job: Pick<PgBoss.JobWithMetadata, 'retryCount' | 'retryLimit' | 'retryDelay' | 'retryBackoff'>,
): number {
  if (job.retryCount >= job.retryLimit) return 0;
  const delay = job.retryBackoff ? job.retryDelay * 2 ** Math.min(16, job.retryCount + 1) : job.retryDelay;
  return delay + RETRY_MARGIN_SECONDS;
}

export async function handleDrainJob(
  deps: DrainDeps,
  job: PgBoss.JobWithMetadata<unknown>,
): Promise<{ delivered: number }> {
  const key = drainKeySchema.parse(job.data);
  const result = await drainConversation(deps, key, {
    owner: job.id,
    holdOnFailureSeconds: nextRetryWithinSeconds(job),
    budgetMs: BUDGET_MS,
  });
  if (result.outcome === 'failed') throw new ForwardDeliveryError(result.error);
  return { delivered: result.delivered };
}

export async function startForwardWorker(ctx: AppContext): Promise<void> {
  for (let i = 0; i < CONCURRENCY; i++) {
    await ctx.queue.work(
      FORWARD_QUEUE,
      { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
      async ([job]) => (job ? handleDrainJob(ctx, job) : undefined),
    );
  }
}
