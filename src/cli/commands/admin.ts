import { createAdminDeps, createAdminUser, PASSWORD_MIN_LENGTH } from '../../modules/admin/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

registerStoreCommand('admin.create', async (ctx, args) => {
  const tenantId = typeof args.tenant === 'string' ? (await ctx.tenants.get(args.tenant)).id : undefined;
  const created = await createAdminUser(ctx.database.db, createAdminDeps(ctx), {
    email: args.email,
    password: args.password,
    role: args.role,
    tenantId,
    actor: { type: 'cli' },
  });
  return ok(created, [
    'shown once: add otpauth_uri to an authenticator app (as a QR code or typed in) and keep the recovery codes somewhere safe',
  ]);
});

/** Strip the one line ending `echo` or a here-string adds; anything else is part of the password. */
function passwordFrom(stdin: string | undefined, env: string | undefined): string | undefined {
  if (stdin !== undefined && stdin.length > 0) return stdin.replace(/\r?\n$/, '');
  return env;
}

export const defineAdmin: CliDefinition = (program, h) => {
  const admin = program.command('admin').description('admin users of the dashboard and the /admin/api API');
  admin
    .command('create')
    .description(
      `create an admin (password from stdin or FLOWGUARD_ADMIN_PASSWORD, at least ${PASSWORD_MIN_LENGTH} characters); prints the TOTP otpauth:// URI and 10 recovery codes once, as JSON`,
    )
    .requiredOption('--email <email>', 'sign-in e-mail')
    .requiredOption('--role <role>', 'owner, privacy_officer, operator or auditor')
    .option('--tenant <id>', 'bind the admin to one tenant (default: global, every tenant)')
    .action(async (o: { email: string; role: string; tenant?: string }) => {
      const password = passwordFrom(await h.io.readStdin(), h.io.env.FLOWGUARD_ADMIN_PASSWORD);
      if (password === undefined) {
        h.io.err('flowguard: give the password on stdin or in FLOWGUARD_ADMIN_PASSWORD');
        h.setExitCode(2);
        return;
      }
      h.setExitCode(
        await h.runStore('admin.create', { email: o.email, role: o.role, tenant: o.tenant, password }),
      );
    });
};
