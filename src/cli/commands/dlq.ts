import { listDeadLetters, retryDeadLetter } from '../../modules/dlq/dead-letters.js';
import { fail, ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('dlq.list', async (ctx, args) => {
  const limit = args.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && Number(limit) >= 1 && Number(limit) <= 10_000)) {
    return fail('--limit must be a whole number from 1 to 10000', 2);
  }
  return ok(
    await listDeadLetters(ctx.database.db, {
      tenantId: typeof args.tenant === 'string' ? args.tenant : undefined,
      after: typeof args.after === 'string' ? args.after : undefined,
      limit: typeof limit === 'number' ? limit : undefined,
    }),
  );
});

registerStoreCommand('dlq.retry', async (ctx, args) => {
  const replayed = await retryDeadLetter(ctx.database.db, ctx.queue, String(args.id));
  return ok({ id: args.id, requeued: replayed.queue, data: replayed.data });
});

export const defineDlq: CliDefinition = (program, h) => {
  const dlq = program.command('dlq').description('the dead-letter queue: tasks that failed every attempt');
  dlq
    .command('list')
    .description('list dead-lettered jobs (ids only, no personal data)')
    .option('--tenant <id>', 'only jobs of this tenant')
    .option('--limit <n>', 'at most this many (default 500)', Number)
    .option('--after <id>', 'the page after this job id (the last of the previous page)')
    .action(async (o: { tenant?: string; limit?: number; after?: string }) =>
      h.setExitCode(await h.runStore('dlq.list', { tenant: o.tenant, limit: o.limit, after: o.after })),
    );
  dlq
    .command('retry <id>')
    .description('put a dead-lettered job back on its queue')
    .action(async (id: string) => h.setExitCode(await h.runStore('dlq.retry', { id })));
};
