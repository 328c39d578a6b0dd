import type { Kysely } from 'kysely';
import { hashToken, timingSafeEqualHex } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { apiKeyPrefix, isApiKeyRole, type ApiKeyRole } from './api-key-format.js';

export interface ApiKeyPrincipal {
  keyId: string;
  tenantId: string;
  role: ApiKeyRole;
}

/** `last_used_at` is written at most this often per key, so a busy key does not cost a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Resolve a presented API key to its principal, or throw UNAUTHENTICATED (unknown, malformed or revoked: the
 * caller is told nothing more). The lookup is by the SHA-256 of a 256-bit random secret, so an index lookup
 * reveals nothing useful through timing; the stored hash is still compared in constant time.
 */
export async function authenticateApiKey(
  deps: { db: Kysely<DB>; clock: () => Date },
  presented: string,
): Promise<ApiKeyPrincipal> {
  const prefix = apiKeyPrefix(presented);
  if (prefix === undefined) throw new AppError('UNAUTHENTICATED', {}, 'invalid API key');
  const hash = hashToken(presented);
  const row = await deps.db
    .selectFrom('api_keys')
    .select(['id', 'tenant_id', 'role', 'key_hash', 'key_prefix', 'revoked_at', 'last_used_at'])
    .where('key_hash', '=', hash)
    .executeTakeFirst();
  if (!row || !timingSafeEqualHex(row.key_hash, hash) || row.key_prefix !== prefix) {
    throw new AppError('UNAUTHENTICATED', {}, 'invalid API key');
  }
  if (row.revoked_at !== null) throw new AppError('UNAUTHENTICATED', {}, 'invalid API key');
  if (!isApiKeyRole(row.role)) throw new AppError('UNAUTHENTICATED', {}, 'invalid API key');

  const now = deps.clock();
  const threshold = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  if (row.last_used_at === null || row.last_used_at < threshold) {
    // Conditional, so concurrent requests write once; a failure here must not fail the request.
    await deps.db
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', threshold)]))
      .execute()
      .catch(() => undefined);
  }
  return { keyId: row.id, tenantId: row.tenant_id, role: row.role };
}
