import type { Kysely } from 'kysely';
import { z } from 'zod';
import { tenantSettingsSchema, type TenantSettings } from '../../config/config.js';
import type { Keyring } from '../../lib/crypto/index.js';
import { randomToken } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { secretsAad, type TenantSecrets } from './tenant-registry.js';
import { createTenantsRepo } from './tenants.repo.js';

export const addTenantInput = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'tenant id: lowercase letters, digits, - and _'),
  name: z.string().min(1).max(200).optional(),
  phoneNumberId: z.string().regex(/^\d{1,32}$/, 'phone number id must be numeric'),
  businessAccountId: z
    .string()
    .regex(/^\d{1,32}$/)
    .optional(),
  appSecret: z.string().min(8),
  verifyToken: z.string().min(8).optional(),
  accessToken: z.string().min(1).optional(),
  flowsPrivateKeyPem: z.string().min(1).optional(),
  flowsPrivateKeyPassphrase: z.string().min(1).optional(),
  settings: tenantSettingsSchema.partial().optional(),
});
export type AddTenantInput = z.input<typeof addTenantInput>;

export async function addTenant(
  deps: { db: Kysely<DB>; keyring: Keyring },
  raw: AddTenantInput,
  opts: { isDefault?: boolean } = {},
): Promise<{ id: string; verifyToken: string }> {
  const parsed = addTenantInput.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('VALIDATION_FAILED', { field: issue?.path.join('.') }, issue?.message);
  }
  const input = parsed.data;
  const repo = createTenantsRepo(deps.db);
  if (await repo.findById(input.id))
    throw new AppError('CONFLICT', { tenant: input.id }, `tenant ${input.id} exists`);
  const secrets: TenantSecrets = {
    appSecret: input.appSecret,
    verifyToken: input.verifyToken ?? randomToken(18),
    accessToken: input.accessToken,
    flowsPrivateKeyPem: input.flowsPrivateKeyPem,
    flowsPrivateKeyPassphrase: input.flowsPrivateKeyPassphrase,
  };
  const settings: TenantSettings = tenantSettingsSchema.parse(input.settings ?? {});
  try {
    await repo.insert({
      id: input.id,
      name: input.name ?? input.id,
      phone_number_id: input.phoneNumberId,
      business_account_id: input.businessAccountId ?? null,
      secrets: deps.keyring.sealSecret(JSON.stringify(secrets), secretsAad(input.id)),
      settings: JSON.stringify(settings),
      is_default: opts.isDefault ?? false,
    });
  } catch (err) {
    if (/unique|duplicate/i.test(String((err as Error).message))) {
      throw new AppError('CONFLICT', { tenant: input.id }, 'a tenant with that id or phone number id exists');
    }
    throw err;
  }
  return { id: input.id, verifyToken: secrets.verifyToken };
}
