import crypto from 'node:crypto';
import type { Config } from '../../config/config.js';
import { toE164 } from '../../lib/phone.js';
import { getRequestView } from '../../modules/dsr/index.js';
import { identityFromInput } from '../../modules/flows/index.js';
import type { AppContext } from '../../app/context.js';
import { FICTIONAL_PHONE } from '../../simulator/fake-person.js';
import { SimulationError } from '../../simulator/http-client.js';
import { runSimulation } from '../../simulator/run-simulation.js';
import { createStoreClient, StoreCommandError } from '../../simulator/store-client.js';
import { fail, ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';
import { isUuid } from '../../lib/uuid.js';

/**
 * A phone_number_id for a default tenant that has none configured yet: the webhook receiver routes numbers no
 * tenant claims to such a default tenant, so `npm start` + `flowguard simulate` works with no configuration.
 */
export const SIMULATOR_PHONE_NUMBER_ID = '199999999999999';

const tenantOf = (ctx: AppContext, args: Record<string, unknown>) =>
  typeof args.tenant === 'string' ? ctx.tenants.get(args.tenant) : ctx.tenants.getDefault();

/**
 * What the simulator needs to play Meta and the WhatsApp client for one tenant: the app secret (to sign), the
 * phone number id (to address webhooks) and the Flows public key (to encrypt). Only through the store: in
 * process, or over the admin socket, which is 0600 in the data dir (the operator who can read the master key).
 */
registerStoreCommand('simulate.credentials', async (ctx, args) => {
  const tenant = await tenantOf(ctx, args);
  if (!tenant.flowsPrivateKey) return fail(`tenant ${tenant.id} has no usable Flows private key`);
  if (!tenant.secrets.appSecret) return fail(`tenant ${tenant.id} has no app secret`);
  const phoneNumberId = tenant.phoneNumberId ?? (tenant.isDefault ? SIMULATOR_PHONE_NUMBER_ID : undefined);
  if (!phoneNumberId) {
    return fail(`tenant ${tenant.id} has no phone number id: webhooks cannot be routed to it`);
  }
  return ok({
    tenant: tenant.id,
    is_default: tenant.isDefault,
    app_secret: tenant.secrets.appSecret,
    phone_number_id: phoneNumberId,
    public_key_pem: crypto
      .createPublicKey(tenant.flowsPrivateKey)
      .export({ type: 'spki', format: 'pem' })
      .toString(),
  });
});

registerStoreCommand('simulate.request', async (ctx, args) => {
  const tenant = await tenantOf(ctx, args);
  if (!isUuid(args.id)) return fail('request id must be a UUID', 2);
  return ok(await getRequestView(ctx.database.db, tenant.id, args.id, ctx.clock()));
});

/** Does the tenant still know a subject by this phone number? (true/false only.) */
registerStoreCommand('simulate.lookup', async (ctx, args) => {
  const tenant = await tenantOf(ctx, args);
  const identity = identityFromInput({ phone: args.phone });
  const subjectId = await ctx.subjects.find(ctx.database.db, tenant.id, [identity]);
  return ok({ known: subjectId !== undefined });
});

function defaultBaseUrl(config: Config): string {
  const { host, port, tls } = config.server;
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export const defineSimulate: CliDefinition = (program, h) => {
  program
    .command('simulate')
    .description(
      'play a WhatsApp user against a running flowguard: signed webhooks, a Flow completion, the Privacy Center Flow and an erasure',
    )
    .option('--base-url <url>', 'the running server (default http://HOST:PORT from the configuration)')
    .option('--tenant <id>', 'tenant (default: the default tenant)')
    .option('--phone <e164>', 'a fictional +1555... number to play (default: a random +1 555 01xx xxxx)')
    .action(async (o: { baseUrl?: string; tenant?: string; phone?: string }) => {
      const config = h.config();
      const baseUrl = o.baseUrl ?? defaultBaseUrl(config);
      if (!/^https?:\/\/[^\s/]+/.test(baseUrl) || !URL.canParse(baseUrl)) {
        h.io.err('flowguard simulate: --base-url must be an http(s) URL');
        return h.setExitCode(2);
      }
      const phone = o.phone === undefined ? undefined : toE164(o.phone);
      if (o.phone !== undefined && (!phone || !FICTIONAL_PHONE.test(phone))) {
        h.io.err(
          'flowguard simulate: --phone must be a fictional +1555... number (the simulation deletes the person it plays)',
        );
        return h.setExitCode(2);
      }
      const store = createStoreClient(config);
      try {
        await runSimulation(store, { baseUrl, tenant: o.tenant, phone, out: (l) => h.io.out(l) });
        h.setExitCode(0);
      } catch (err) {
        // Our own errors carry a full sentence; anything else is shown by its message, never a stack.
        const message =
          err instanceof SimulationError || err instanceof StoreCommandError
            ? err.message
            : `unexpected error: ${(err as Error).message}`;
        h.io.err(`flowguard simulate: failed: ${message}`);
        h.setExitCode(1);
      } finally {
        await store.close();
      }
    });
};
