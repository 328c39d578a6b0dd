import crypto from 'node:crypto';
import type { AppContext } from './context.js';

/** What to tell Meta, printed once at start-up: URLs, the verify token when flowguard generated it, the public key. */
export async function startupBanner(ctx: AppContext, baseUrl: string): Promise<string> {
  const tenant = await ctx.tenants.getDefault();
  const lines = [
    `flowguard is listening on ${baseUrl} (store: ${ctx.database.kind === 'pglite' ? `embedded, ${ctx.config.dataDir}` : 'PostgreSQL'})`,
    '',
    'Point Meta at it (behind your public HTTPS address):',
    `  Webhook callback URL   ${baseUrl}/webhooks/whatsapp`,
    `  Flows endpoint URL     ${baseUrl}/flows/endpoint`,
  ];
  const generated = ctx.defaultTenantReport.generated;
  if (generated.includes('verify_token')) {
    lines.push(
      `  Verify token           ${tenant.secrets.verifyToken}   (generated; set WHATSAPP_VERIFY_TOKEN to choose your own)`,
    );
  } else {
    lines.push('  Verify token           the value of WHATSAPP_VERIFY_TOKEN');
  }
  if (!ctx.config.defaultTenant.appSecret) {
    lines.push(
      '',
      'WHATSAPP_APP_SECRET is not set: webhooks are checked against a generated development secret, so only',
      '`flowguard simulate` can reach this instance. Set it to your Meta app secret before going live.',
    );
  }
  if (tenant.flowsPrivateKey) {
    const pub = crypto
      .createPublicKey(tenant.flowsPrivateKey)
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const phone = tenant.phoneNumberId ?? '<PHONE_NUMBER_ID>';
    lines.push(
      '',
      `Flows endpoint public key${generated.includes('flows_key') ? ' (generated into the store)' : ''}:`,
      pub.trimEnd(),
      '',
      'Upload it once per phone number:',
      `  curl -X POST "${ctx.config.graphUrl}/${phone}/whatsapp_business_encryption" \\`,
      '    -H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN" \\',
      `    --data-urlencode "business_public_key=$(cat public.pem)"`,
      '  (`flowguard keys generate --out DIR` writes a key pair to files; set FLOWS_PRIVATE_KEY_FILE to use it.)',
    );
  } else {
    lines.push(
      '',
      'The default tenant has no usable Flows private key: check FLOWS_PRIVATE_KEY(_FILE) and its passphrase.',
    );
  }
  return lines.join('\n');
}
