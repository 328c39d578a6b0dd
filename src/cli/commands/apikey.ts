import { createApiKey, listApiKeys, revokeApiKey } from '../../modules/apikeys/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('apikey.create', async (ctx, args) => {
  const tenant =
    typeof args.tenant === 'string' ? await ctx.tenants.get(args.tenant) : await ctx.tenants.getDefault();
  const created = await createApiKey(ctx.database.db, {
    tenantId: tenant.id,
    name: String(args.name ?? ''),
    role: typeof args.role === 'string' ? args.role : undefined,
  });
  return ok({ id: created.id, key: created.key, tenant: created.tenantId, role: created.role }, [
    'store this key now: it is shown once and cannot be recovered',
  ]);
});

registerStoreCommand('apikey.list', async (ctx, args) => {
  const tenant = typeof args.tenant === 'string' ? (await ctx.tenants.get(args.tenant)).id : undefined;
  return ok(await listApiKeys(ctx.database.db, tenant));
});

registerStoreCommand('apikey.revoke', async (ctx, args) =>
  ok(await revokeApiKey({ db: ctx.database.db, clock: ctx.clock }, String(args.id ?? ''))),
);

export const defineApiKey: CliDefinition = (program, h) => {
  const apikey = program
    .command('apikey')
    .description('API keys for the /v1 API (Authorization: Bearer <key>)');
  apikey
    .command('create')
    .description('create an API key and print it once, as JSON {id, key, tenant, role}')
    .requiredOption('--name <name>', 'what the key is for (shown in listings)')
    .option('--tenant <id>', 'tenant the key acts for (default: the default tenant)')
    .option('--role <role>', 'service or admin', 'service')
    .action(async (o: { name: string; tenant?: string; role: string }) =>
      h.setExitCode(await h.runStore('apikey.create', { name: o.name, tenant: o.tenant, role: o.role })),
    );
  apikey
    .command('list')
    .description('list API keys (prefix, role, last use; never the secret)')
    .option('--tenant <id>', 'only this tenant')
    .action(async (o: { tenant?: string }) =>
      h.setExitCode(await h.runStore('apikey.list', { tenant: o.tenant })),
    );
  apikey
    .command('revoke')
    .description('revoke an API key by id; requests with it are refused at once')
    .argument('<id>', 'key id (from apikey list)')
    .action(async (id: string) => h.setExitCode(await h.runStore('apikey.revoke', { id })));
};
