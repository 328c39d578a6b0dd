import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { isUuid } from '../../lib/uuid.js';

/** Revoke a key by id; revoking twice keeps the first revocation time. Unknown ids are NOT_FOUND. */
export async function revokeApiKey(
  deps: { db: Kysely<DB>; clock: () => Date },
  id: string,
): Promise<{ id: string; revoked_at: string }> {
  if (!isUuid(id)) throw new AppError('NOT_FOUND', { resource: 'api_key' }, 'no such API key');
  await deps.db
    .updateTable('api_keys')
    .set({ revoked_at: deps.clock() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await deps.db
    .selectFrom('api_keys')
    .select(['id', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row?.revoked_at) throw new AppError('NOT_FOUND', { resource: 'api_key' }, 'no such API key');
  return { id: row.id, revoked_at: new Date(row.revoked_at).toISOString() };
}
