import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { Queue } from '../../jobs/queue.js';

export const MEDIA_FETCH_QUEUE = 'media.fetch';
export const MEDIA_DELETE_QUEUE = 'media.delete';
export const MEDIA_SWEEP_QUEUE = 'media.sweep';

/** Inside the ingest transaction: download this media row's file once the message is committed. */
export async function enqueueMediaFetch(
  tx: Kysely<DB>,
  queue: Pick<Queue, 'send'>,
  mediaRowId: string,
): Promise<void> {
  await queue.send(tx, MEDIA_FETCH_QUEUE, { mediaRowId });
}

/**
 * Inside an erasure transaction, before the subject's media rows are deleted: one `media.delete` job per stored
 * object (its storage key only, nothing personal), which runs once the erasure commits; a rollback takes the
 * jobs with it and the files stay. The rows are locked so that a download finishing meanwhile is either seen
 * here or finds its row gone (and deletes its file itself). Without a queue (retention sweeps), the deletion
 * journal the row delete's trigger fills is drained by the `media.sweep` job instead. Returns the object count.
 */
export async function queueMediaDeletes(
  tx: Kysely<DB>,
  queue: Pick<Queue, 'send'> | undefined,
  subjectId: string,
): Promise<number> {
  const rows = await tx
    .selectFrom('media')
    .select('storage_key')
    .where('subject_id', '=', subjectId)
    .where('storage_key', 'is not', null)
    .forUpdate()
    .execute();
  for (const r of rows) if (queue) await queue.send(tx, MEDIA_DELETE_QUEUE, { storageKey: r.storage_key });
  return rows.length;
}
