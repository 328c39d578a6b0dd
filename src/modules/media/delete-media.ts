import type { AppContext } from '../../app/context.js';
import type { MediaStore } from './media-store.js';
import { assertMediaKey } from './media-store.js';

export type DeleteMediaDeps = Pick<AppContext, 'database' | 'logger'> & { store: MediaStore };

/**
 * Delete one stored media object (a `media.delete` job, queued by an erasure) and its deletion-journal entry.
 * Idempotent: a missing file counts as deleted. An object still referenced by a media row is left alone.
 */
export async function deleteMediaObject(
  deps: DeleteMediaDeps,
  storageKey: string,
): Promise<'deleted' | 'absent' | 'in_use' | 'invalid'> {
  try {
    assertMediaKey(storageKey);
  } catch {
    deps.logger.warn('media deletion with an invalid storage key ignored');
    return 'invalid';
  }
  const db = deps.database.db;
  const live = await db
    .selectFrom('media')
    .select('id')
    .where('storage_key', '=', storageKey)
    .executeTakeFirst();
  if (live) return 'in_use';
  const deleted = await deps.store.delete(storageKey);
  await db.deleteFrom('media_deletions').where('storage_key', '=', storageKey).execute();
  return deleted ? 'deleted' : 'absent';
}

/**
 * Drain the deletion journal: objects whose rows went by any path (retention, tenant removal, a lost job).
 * Returns how many entries were handled.
 */
export async function sweepMediaDeletions(deps: DeleteMediaDeps, batch = 200): Promise<number> {
  let handled = 0;
  for (;;) {
    const rows = await deps.database.db
      .selectFrom('media_deletions')
      .select('storage_key')
      .orderBy('recorded_at')
      .limit(batch)
      .execute();
    for (const r of rows) {
      const outcome = await deleteMediaObject(deps, r.storage_key);
      // Entries that are not deletable now are removed so the sweep cannot spin on them.
      if (outcome === 'invalid' || outcome === 'in_use')
        await deps.database.db
          .deleteFrom('media_deletions')
          .where('storage_key', '=', r.storage_key)
          .execute();
    }
    handled += rows.length;
    if (rows.length < batch) return handled;
  }
}
