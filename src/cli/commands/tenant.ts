import fs from 'node:fs';
import path from 'node:path';
import { addTenant } from '../../modules/tenants/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('tenant.add', async (ctx, args) => {
  const result = await addTenant(
    { db: ctx.database.db, keyring: ctx.keyring },
    args as Parameters<typeof addTenant>[1],
  );
  await ctx.tenants.reload();
  return ok({ id: result.id, verify_token: result.verifyToken });
});

registerStoreCommand('tenant.list', async (ctx) => {
  await ctx.tenants.reload();
  const tenants = await ctx.tenants.all();
  return ok(
    tenants.map((t) => ({
      id: t.id,
      name: t.name,
      phone_number_id: t.phoneNumberId,
      default: t.isDefault,
      flows_key: Boolean(t.flowsPrivateKey),
      store_message_content: t.settings.storeMessageContent,
      regimes: t.settings.regimes,
      forward_targets: t.settings.forward.length,
    })),
  );
});

export const defineTenant: CliDefinition = (program, h) => {
  const tenant = program
    .command('tenant')
    .description('manage tenants (one per WhatsApp business phone number)');
  tenant
    .command('add')
    .description('add a tenant; secrets are read from the environment of this command, never from arguments')
    .requiredOption('--id <id>', 'tenant id (lowercase letters, digits, - and _)')
    .requiredOption('--phone-number-id <id>', "Meta's phone number id")
    .option('--name <name>', 'display name')
    .option('--waba-id <id>', 'WhatsApp Business Account id')
    .option('--flows-key-file <file>', 'PEM private key for the Flows endpoint')
    .option('--store-message-content', 'keep message text (encrypted)')
    .action(
      async (o: {
        id: string;
        phoneNumberId: string;
        name?: string;
        wabaId?: string;
        flowsKeyFile?: string;
        storeMessageContent?: boolean;
      }) => {
        const env = h.io.env;
        const appSecret = env.TENANT_APP_SECRET;
        if (!appSecret) {
          h.io.err('flowguard: tenant add needs TENANT_APP_SECRET in the environment (the Meta app secret)');
          h.setExitCode(2);
          return;
        }
        const flowsPrivateKeyPem = o.flowsKeyFile
          ? fs.readFileSync(path.resolve(h.io.cwd, o.flowsKeyFile), 'utf8')
          : undefined;
        h.setExitCode(
          await h.runStore('tenant.add', {
            id: o.id,
            name: o.name,
            phoneNumberId: o.phoneNumberId,
            businessAccountId: o.wabaId,
            appSecret,
            verifyToken: env.TENANT_VERIFY_TOKEN,
            accessToken: env.TENANT_ACCESS_TOKEN,
            flowsPrivateKeyPem,
            flowsPrivateKeyPassphrase: env.TENANT_FLOWS_KEY_PASSPHRASE,
            settings: o.storeMessageContent ? { storeMessageContent: true } : undefined,
          }),
        );
      },
    );
  tenant
    .command('list')
    .description('list tenants (no secrets)')
    .action(async () => h.setExitCode(await h.runStore('tenant.list', {})));
};
