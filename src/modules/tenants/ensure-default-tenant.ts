import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/config.js';
import { randomToken, type Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { secretsAad, type TenantSecrets } from './tenant-registry.js';
import { createTenantsRepo } from './tenants.repo.js';

export const DEFAULT_TENANT_ID = 'default';

export interface DefaultTenantReport {
  created: boolean;
  /** What flowguard had to generate because the environment did not provide it. */
  generated: ('app_secret' | 'verify_token' | 'flows_key')[];
}

/**
 * The default tenant is described by the environment (WHATSAPP_*, FLOWS_PRIVATE_KEY*). Values from the
 * environment win on every start; what is missing is generated once and kept (sealed) in the store, so a fresh
 * `npm start` works with no configuration and the simulator can talk to it.
 */
export async function ensureDefaultTenant(
  deps: { db: Kysely<DB>; keyring: Keyring },
  env: Config['defaultTenant'],
): Promise<DefaultTenantReport> {
  const repo = createTenantsRepo(deps.db);
  const existing = await repo.findDefault();
  const previous: Partial<TenantSecrets> = existing
    ? (JSON.parse(deps.keyring.openSecret(existing.secrets, secretsAad(existing.id))) as TenantSecrets)
    : {};
  const generated: DefaultTenantReport['generated'] = [];

  const appSecret = env.appSecret ?? previous.appSecret ?? (generated.push('app_secret'), randomToken(24));
  const verifyToken =
    env.verifyToken ?? previous.verifyToken ?? (generated.push('verify_token'), randomToken(18));
  let flowsPrivateKeyPem = env.flowsPrivateKeyPem ?? previous.flowsPrivateKeyPem;
  let flowsPrivateKeyPassphrase = env.flowsPrivateKeyPem
    ? env.flowsPrivateKeyPassphrase
    : previous.flowsPrivateKeyPassphrase;
  if (!flowsPrivateKeyPem) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    flowsPrivateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    flowsPrivateKeyPassphrase = undefined;
    generated.push('flows_key');
  }
  const secrets: TenantSecrets = {
    appSecret,
    verifyToken,
    accessToken: env.accessToken ?? previous.accessToken,
    flowsPrivateKeyPem,
    flowsPrivateKeyPassphrase,
  };
  const sealed = deps.keyring.sealSecret(
    JSON.stringify(secrets),
    secretsAad(existing?.id ?? DEFAULT_TENANT_ID),
  );
  const settings = JSON.stringify(env.settings);
  if (existing) {
    await repo.update(existing.id, {
      secrets: sealed,
      settings,
      phone_number_id: env.phoneNumberId ?? existing.phone_number_id,
      business_account_id: env.businessAccountId ?? existing.business_account_id,
    });
    return { created: false, generated };
  }
  await repo.insert({
    id: DEFAULT_TENANT_ID,
    name: 'Default tenant',
    phone_number_id: env.phoneNumberId ?? null,
    business_account_id: env.businessAccountId ?? null,
    secrets: sealed,
    settings,
    is_default: true,
  });
  return { created: true, generated };
}
