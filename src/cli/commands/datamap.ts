import { parseIdentity } from '../../lib/phone.js';
import { checkDataMap } from '../../modules/connectors/check-data-map.js';
import { fail } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('datamap.check', async (ctx, args) => {
  const probe = [];
  for (const [key, input] of [
    ['probe-phone', { phone: args.phone as string | undefined }],
    ['probe-user-id', { user_id: args.userId as string | undefined }],
  ] as const) {
    if (Object.values(input)[0] === undefined) continue;
    const identity = parseIdentity(input);
    if (!identity)
      return fail(
        `--${key} is not a valid ${key === 'probe-phone' ? 'phone number' : 'business-scoped user id'}`,
        2,
      );
    probe.push(identity);
  }
  const report = await checkDataMap(ctx.dataMap, probe);
  const notes = report.systems.flatMap((s) => [
    ...(s.reachable ? [] : [`${s.id}: unreachable${s.error ? ` (${s.error})` : ''}`]),
    ...s.warnings.map((w) => `${s.id}: warning: ${w}`),
  ]);
  return { exitCode: report.ok ? 0 : 1, output: report, notes };
});

export const defineDatamap: CliDefinition = (program, h) => {
  program
    .command('datamap')
    .description('the data map of the systems that hold people’s data')
    .command('check')
    .description('reach every system, warn about unindexed identity columns, and dry-run a probe identity')
    .option('--probe-phone <e164>', 'count what each system holds for this number (nothing is changed)')
    .option('--probe-user-id <bsuid>', 'count what each system holds for this business-scoped user id')
    .action(async (o: { probePhone?: string; probeUserId?: string }) =>
      h.setExitCode(await h.runStore('datamap.check', { phone: o.probePhone, userId: o.probeUserId })),
    );
};
