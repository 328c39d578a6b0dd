import { migrate, migrationStatus } from '../../lib/db/migrate.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('migrate', async (ctx) => {
  const { applied } = await migrate(ctx.database);
  const status = await migrationStatus(ctx.database);
  return ok({ applied, current: status.current, latest: status.latest });
});

export const defineMigrate: CliDefinition = (program, h) => {
  program
    .command('migrate')
    .description('apply pending database migrations (also done at start-up)')
    .action(async () => h.setExitCode(await h.runStore('migrate', {})));
};
