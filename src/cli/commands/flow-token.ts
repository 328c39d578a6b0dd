import { createFlowTokens, identityFromInput } from '../../modules/flows/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('flow-token.issue', async (ctx, args) => {
  const tenant =
    typeof args.tenant === 'string' ? await ctx.tenants.get(args.tenant) : await ctx.tenants.getDefault();
  const identity = identityFromInput({ phone: args.phone, user_id: args.userId });
  const tokens = createFlowTokens({
    db: ctx.database.db,
    subjects: ctx.subjects,
    clock: ctx.clock,
    ttlSeconds: ctx.config.flowTokenTtlSeconds,
  });
  const issued = await ctx.database.db.transaction().execute((tx) => tokens.issue(tx, tenant.id, identity));
  return ok({ flow_token: issued.token, expires_at: issued.expiresAt.toISOString() });
});

export const defineFlowToken: CliDefinition = (program, h) => {
  program
    .command('flow-token')
    .description('issue a Flow token bound to one person; prints JSON {flow_token, expires_at}')
    .option('--phone <e164>', "the person's phone number, +E.164")
    .option('--user-id <bsuid>', "the person's business-scoped user id")
    .option('--tenant <id>', 'tenant (default: the default tenant)')
    .action(async (o: { phone?: string; userId?: string; tenant?: string }) => {
      if ((o.phone === undefined) === (o.userId === undefined)) {
        h.io.err('flowguard: flow-token needs exactly one of --phone or --user-id');
        h.setExitCode(2);
        return;
      }
      h.setExitCode(
        await h.runStore('flow-token.issue', { phone: o.phone, userId: o.userId, tenant: o.tenant }),
      );
    });
};
