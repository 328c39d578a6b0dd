import { listDeadLetters, retryDeadLetter } from '../../modules/dlq/dead-letters.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('dlq.list', async (ctx, args) =>
  ok(
    await listDeadLetters(ctx.database.db, {
      tenantId: typeof args.tenant === 'string' ? args.tenant : undefined,
    }),
  ),
);

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
    .action(async (o: { tenant?: string }) =>
      h.setExitCode(await h.runStore('dlq.list', { tenant: o.tenant })),
    );
  dlq
    .command('retry <id>')
    .description('put a dead-lettered job back on its queue')
    .action(async (id: string) => h.setExitCode(await h.runStore('dlq.retry', { id })));
};
