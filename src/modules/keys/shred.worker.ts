import type { AppContext } from '../../app/context.js';
import { SHRED_QUEUE, shredPendingKeys } from './shred-keys.js';

/**
 * The shred job. The erasure journal's wake trigger has it sent as soon as an erasure commits (queue policy
 * `short`: a burst of erasures leaves one queued job), whoever deleted the subject; a schedule every minute and
 * one run at start-up repair whatever a crash or a lost wake-up left pending.
 */
export async function startShredWorker(ctx: AppContext): Promise<void> {
  const deps = { db: ctx.database.db, keyring: ctx.keyring, keyStore: ctx.keyStore, logger: ctx.logger };
  await ctx.queue.boss.schedule(SHRED_QUEUE, '* * * * *', {}, { tz: 'UTC' });
  await ctx.queue.work(SHRED_QUEUE, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async () => {
    await shredPendingKeys(deps);
  });
  const request = () => ctx.queue.send(ctx.database.db, SHRED_QUEUE, {});
  await ctx.queue.onCommitted('erasure_journal', request);
  await request();
}
