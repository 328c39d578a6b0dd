import fs from 'node:fs';
import path from 'node:path';
import { createDsrDeps, createRequest } from '../../modules/dsr/index.js';
import { shredPendingKeys } from '../../modules/keys/index.js';
import { addTenant } from '../../modules/tenants/index.js';
import { deleteTenant, environmentConfiguresDefault } from '../../modules/tenants/delete-tenant.js';
import { countOwnStore } from '../../modules/tenants/offboarding-counts.js';
import { ok, type CommandResult } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';
import { controlsFor, withRunControls } from './run-controls.js';

/** `tenant delete` exit codes besides 0 (deleted): systems still working, a system failed, Ctrl-C. */
const EXIT_TENANT_PENDING = 4;
const EXIT_FOR = {
  deleted: 0,
  pending_systems: EXIT_TENANT_PENDING,
  systems_failed: 1,
  interrupted: 130,
} as const;

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

registerStoreCommand('tenant.delete', async (ctx, args): Promise<CommandResult> => {
  const tenant = await ctx.tenants.get(String(args.id));
  if (args.yes !== true) {
    const refused = tenant.isDefault && environmentConfiguresDefault(ctx.config.defaultTenant);
    return {
      exitCode: 1,
      output: { tenant: tenant.id, would_delete: await countOwnStore(ctx.database.db, tenant.id) },
      notes: [
        refused
          ? 'flowguard: the default tenant is configured by the environment (WHATSAPP_*) and cannot be deleted'
          : `flowguard: this deletes every contact of tenant ${tenant.id} everywhere in the data map; pass --yes to go ahead`,
      ],
    };
  }
  const dsr = createDsrDeps(ctx);
  const controls = controlsFor(args);
  const deps = {
    db: ctx.database.db,
    tenants: ctx.tenants,
    config: ctx.config,
    keyStore: ctx.keyStore,
    clock: ctx.clock,
    audit: dsr.audit,
    eraseSubject: async (tx: Parameters<typeof dsr.audit>[0], t: typeof tenant, subjectId: string) => {
      const created = await createRequest(tx, dsr, {
        tenant: t,
        type: 'erasure',
        scope: 'all',
        channel: 'cli',
        subject: { subjectId },
        verification: 'not_required',
        actor: { type: 'cli' },
      });
      return { requestId: created.id };
    },
    shredPending: (tenantId: string) =>
      shredPendingKeys({ db: ctx.database.db, keyring: ctx.keyring, keyStore: ctx.keyStore }, { tenantId }),
  };
  const waitUntil = Date.now() + (typeof args.waitSeconds === 'number' ? args.waitSeconds : 0) * 1000;
  let report = await deleteTenant(deps, {
    tenantId: tenant.id,
    signal: controls.signal,
    onProgress: (n, total) => controls.progress?.(`tenant delete: ${n}/${total} contacts erased`),
  });
  while (report.status === 'pending_systems' && Date.now() < waitUntil && !controls.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 1000));
    report = await deleteTenant(deps, { tenantId: tenant.id, signal: controls.signal });
  }
  if (typeof args.reportFile === 'string') {
    fs.writeFileSync(args.reportFile, JSON.stringify(report, null, 2) + '\n', { mode: 0o640 });
  }
  const notes = {
    deleted: `tenant ${tenant.id} deleted: ${report.own_store.subjects} contacts, ${report.keys.shredded} keys shredded`,
    pending_systems: `tenant ${tenant.id}: contacts erased here; ${report.requests.open} requests wait for data-map systems. Run it again (or pass --wait) to finish`,
    systems_failed: `tenant ${tenant.id}: a data-map system failed (see systems, and flowguard dlq list); replay it, then run this again`,
    interrupted: `tenant ${tenant.id}: interrupted; run it again to carry on`,
  };
  return { exitCode: EXIT_FOR[report.status], output: report, notes: [notes[report.status]] };
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
  tenant
    .command('delete <id>')
    .description(
      'offboard a tenant: erase all its contacts in flowguard and every data-map system, shred their keys, keep only legally retained records and the audit trail; prints a proof report',
    )
    .option('--yes', 'really delete (without it: show what would go)')
    .option('--wait <seconds>', 'wait for the data-map systems to finish', (v) => Number.parseInt(v, 10), 0)
    .option('--report <file>', 'also write the proof report (JSON, no personal data) to this file')
    .action(async (id: string, o: { yes?: boolean; wait: number; report?: string }) => {
      const code = await withRunControls(
        (line) => h.io.err(line),
        (token) =>
          h.runStore('tenant.delete', {
            id,
            yes: o.yes === true,
            waitSeconds: o.wait,
            reportFile: o.report ? path.resolve(h.io.cwd, o.report) : undefined,
            controls: token,
          }),
      );
      h.setExitCode(code);
    });
};
