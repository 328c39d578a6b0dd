import type { AppContext } from '../../app/context.js';
import { SHRED_QUEUE, shredPendingKeys } from './shred-keys.js';

/**
 * The shred job. An erasure asks for it inside its transaction (queue policy `short`: a burst of erasures
 * leaves one queued job), so it runs right after the commit; a schedule every minute and one run at start-up
 * repair whatever a crash or a direct DELETE (retention sweep, tenant cascade) left pending.
 */
export async function startShredWorker(ctx: AppContext): Promise<void> {
  const deps = { db: ctx.database.db, keyring: ctx.keyring, keyStore: ctx.keyStore, logger: ctx.logger };
  await ctx.queue.boss.schedule(SHRED_QUEUE, '* * * * *', {}, { tz: 'UTC' });
  const workerId = await ctx.queue.boss.work(
    SHRED_QUEUE,
    { pollingIntervalSeconds: 0.5, batchSize: 1 },
    async () => {
      await shredPendingKeys(deps);
    },
  );
  ctx.queue.wakeOnCommit(SHRED_QUEUE, workerId);
  await ctx.queue.send(ctx.database.db, SHRED_QUEUE, {});
}
