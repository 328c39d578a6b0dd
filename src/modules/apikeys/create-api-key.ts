import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashToken } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { isApiKeyRole, newApiKey, type ApiKeyRole } from './api-key-format.js';

export interface CreateApiKeyInput {
  tenantId: string;
  name: string;
  role?: string | undefined;
}

export interface CreatedApiKey {
  id: string;
  /** The secret itself: returned once, never stored. */
  key: string;
  prefix: string;
  tenantId: string;
  name: string;
  role: ApiKeyRole;
}

/** Create an API key for one tenant. The caller shows `key` once; the store keeps only its hash and prefix. */
export async function createApiKey(db: Kysely<DB>, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) {
    throw new AppError('VALIDATION_FAILED', { field: 'name' }, 'name must be 1 to 100 characters');
  }
  const role = input.role ?? 'service';
  if (!isApiKeyRole(role)) {
    throw new AppError('VALIDATION_FAILED', { field: 'role' }, 'role must be service or admin');
  }
  const tenant = await db
    .selectFrom('tenants')
    .select('id')
    .where('id', '=', input.tenantId)
    .executeTakeFirst();
  if (!tenant) throw new AppError('TENANT_NOT_FOUND', { tenant: input.tenantId });
  const { key, prefix } = newApiKey();
  const id = crypto.randomUUID();
  await db
    .insertInto('api_keys')
    .values({ id, tenant_id: tenant.id, name, key_hash: hashToken(key), key_prefix: prefix, role })
    .execute();
  return { id, key, prefix, tenantId: tenant.id, name, role };
}
