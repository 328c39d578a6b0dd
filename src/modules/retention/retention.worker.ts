import type { AppContext } from '../../app/context.js';
import { runRetention } from './run-retention.js';

export const RETENTION_QUEUE = 'retention.sweep';

/**
 * The scheduled sweep: a pg-boss cron (`retention.cron`, hourly by default, UTC). pg-boss sends one job per
 * tick whichever instances schedule it, the queue keeps at most one waiting, and the sweep's lease makes sure
 * only one sweep works at a time (a sweep still running when the next tick comes lets that job end as `busy`).
 */
export async function startRetentionWorker(ctx: AppContext): Promise<void> {
  const boss = ctx.queue.boss;
  await boss.schedule(RETENTION_QUEUE, ctx.config.retention.cron, {}, { tz: 'UTC' });
  await ctx.queue.work(RETENTION_QUEUE, { pollingIntervalSeconds: 5 }, async () => {
    const report = await runRetention(ctx);
    if (report.status === 'busy') ctx.logger.info('retention sweep skipped: another sweep is running');
    return { status: report.status, durationMs: report.durationMs, vacuumedTables: report.vacuumedTables };
  });
}
