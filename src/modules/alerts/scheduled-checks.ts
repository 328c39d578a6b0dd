import type { AppContext } from '../../app/context.js';
import { checkDataMap } from '../connectors/check-data-map.js';

/**
 * Deadlines keep ticking whatever the systems do: every 15 minutes, open requests that near or pass their due
 * date raise an alert (once per request and threshold). Daily (configurable), the whole data map is checked,
 * so a broken path is found before a person's request needs it.
 */
export async function checkDeadlines(
  ctx: Pick<AppContext, 'database' | 'alerter' | 'clock' | 'config'>,
): Promise<number> {
  const now = ctx.clock();
  const soon = new Date(now.getTime() + ctx.config.alerts.deadlineWarningDays * 86_400_000);
  const open = await ctx.database.db
    .selectFrom('privacy_requests')
    .select(['id', 'reference', 'type', 'due_at'])
    .where('status', 'in', ['received', 'awaiting_verification', 'verified', 'executing', 'failed'])
    .where('due_at', '<', soon)
    .orderBy('due_at')
    .limit(1000)
    .execute();
  let raised = 0;
  for (const r of open) {
    const passed = new Date(r.due_at) < now;
    const sent = await ctx.alerter.send({
      kind: passed ? 'deadline_passed' : 'deadline_near',
      text: `${r.type} request ${r.reference} ${passed ? 'is past' : 'is near'} its due date ${new Date(r.due_at).toISOString()}`,
      // Per due date: an extended request is warned about again as its new deadline nears.
      onceKey: `${r.id}:${new Date(r.due_at).toISOString()}`,
    });
    if (sent) raised++;
  }
  return raised;
}

export async function selfCheck(ctx: Pick<AppContext, 'dataMap' | 'alerter' | 'clock'>): Promise<boolean> {
  const report = await checkDataMap(ctx.dataMap);
  const day = ctx.clock().toISOString().slice(0, 10);
  for (const s of report.systems.filter((x) => !x.reachable)) {
    await ctx.alerter.send({
      kind: 'system_check_failed',
      text: `data-map system ${s.id} (${s.type}) failed its check${s.error ? `: ${s.error}` : ''}`,
      onceKey: `${s.id}:${day}`,
    });
  }
  return report.ok;
}

export async function startScheduledChecks(ctx: AppContext): Promise<void> {
  const boss = ctx.queue.boss;
  await boss.schedule('deadlines.check', '*/15 * * * *', {}, { tz: 'UTC' });
  await boss.schedule('datamap.selfcheck', ctx.config.alerts.selfCheckCron, {}, { tz: 'UTC' });
  await ctx.queue.work('deadlines.check', { pollingIntervalSeconds: 5 }, async () => {
    await checkDeadlines(ctx);
  });
  await ctx.queue.work('datamap.selfcheck', { pollingIntervalSeconds: 5 }, async () => {
    await selfCheck(ctx);
  });
}
