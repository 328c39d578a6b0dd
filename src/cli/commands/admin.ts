import {
  createAdminDeps,
  createAdminUser,
  findAdminIdByEmail,
  PASSWORD_MIN_LENGTH,
  resetAdminMfa,
} from '../../modules/admin/index.js';
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
    enrolAtSignIn: args.enrolAtSignIn === true,
    actor: { type: 'cli' },
  });
  return ok(created, [
    created.mfa_enrolled
      ? 'shown once: add otpauth_uri to an authenticator app (as a QR code or typed in) and keep the recovery codes somewhere safe'
      : 'the admin sets up an authenticator at the first sign-in in the dashboard (QR code) and gets its recovery codes there',
  ]);
});

registerStoreCommand('admin.reset-mfa', async (ctx, args) => {
  const deps = createAdminDeps(ctx);
  const userId = await findAdminIdByEmail(ctx.database.db, ctx.keyring, args.email);
  const reset = await resetAdminMfa(deps, { userId, actor: { type: 'cli' } });
  return ok(reset, [
    'authenticator and recovery codes removed, sessions ended: at the next sign-in the admin scans a new QR code',
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
      `create an admin (password from stdin or FLOWGUARD_ADMIN_PASSWORD, at least ${PASSWORD_MIN_LENGTH} characters); prints the TOTP otpauth:// URI and 10 recovery codes once, as JSON: that URI is the enrolment (the admin counts as enrolled)`,
    )
    .requiredOption('--email <email>', 'sign-in e-mail')
    .requiredOption('--role <role>', 'owner, privacy_officer, operator or auditor')
    .option('--tenant <id>', 'bind the admin to one tenant (default: global, every tenant)')
    .option(
      '--enrol-at-sign-in',
      'print no URI or codes: the admin sets up the authenticator at the first sign-in (QR code in the dashboard)',
    )
    .action(async (o: { email: string; role: string; tenant?: string; enrolAtSignIn?: boolean }) => {
      const password = passwordFrom(await h.io.readStdin(), h.io.env.FLOWGUARD_ADMIN_PASSWORD);
      if (password === undefined) {
        h.io.err('flowguard: give the password on stdin or in FLOWGUARD_ADMIN_PASSWORD');
        h.setExitCode(2);
        return;
      }
      h.setExitCode(
        await h.runStore('admin.create', {
          email: o.email,
          role: o.role,
          tenant: o.tenant,
          enrolAtSignIn: o.enrolAtSignIn === true,
          password,
        }),
      );
    });
  admin
    .command('reset-mfa')
    .description(
      "reset an admin's MFA (authenticator lost): secret and recovery codes removed, sessions ended; the admin enrols a new authenticator at the next sign-in",
    )
    .requiredOption('--email <email>', "the admin's sign-in e-mail")
    .action(async (o: { email: string }) => {
      h.setExitCode(await h.runStore('admin.reset-mfa', { email: o.email }));
    });
};
