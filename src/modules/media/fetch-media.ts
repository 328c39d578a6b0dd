import crypto from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppContext } from '../../app/context.js';
import { createEncryptStream } from '../../lib/crypto/index.js';
import type { GraphMediaClient, MediaDropReason } from './graph-media.js';
import { MediaFetchError } from './graph-media.js';
import { mediaFileAad, wrapFileKey } from './media-file.js';
import type { MediaStore } from './media-store.js';

/** Meta's limit for media files. */
export const MAX_MEDIA_BYTES = 100 * 1024 * 1024;
/** A webhook's media id can be downloaded for 7 days; after that, retrying is pointless. */
export const MEDIA_ID_LIFETIME_MS = 7 * 86_400_000;

export type FetchMediaDeps = Pick<AppContext, 'database' | 'subjectKeys' | 'logger' | 'clock'> & {
  tenants: Pick<AppContext['tenants'], 'get'>;
  store: MediaStore;
  graph: GraphMediaClient;
  maxBytes?: number;
};

export type FetchOutcome = 'stored' | 'already_stored' | 'missing' | { dropped: MediaDropReason };

/** Does the file's digest match the hash Meta announced (hex or base64: Meta's docs show both readings)? */
export function digestMatches(digest: Buffer, claimed: string): boolean {
  const c = claimed.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(c) ? Buffer.from(c, 'hex') : Buffer.from(c, 'base64');
  return bytes.length === 32 && bytes.equals(digest);
}

/**
 * Download one inbound media file (a `media.fetch` job) and keep it encrypted under its sender's data key.
 * The object name is reserved on the row first, so an erasure that runs meanwhile queues its deletion; the row
 * is marked stored only if it still exists once the file is complete (otherwise the file is deleted at once).
 * Permanent failures (unknown or expired id, hash mismatch, too large) are dropped and logged by code; temporary
 * ones throw for the queue to retry, unless the media id has expired by then.
 */
export async function fetchMedia(deps: FetchMediaDeps, mediaRowId: string): Promise<FetchOutcome> {
  const db = deps.database.db;
  const max = deps.maxBytes ?? MAX_MEDIA_BYTES;
  let row = await db.selectFrom('media').selectAll().where('id', '=', mediaRowId).executeTakeFirst();
  if (!row) return 'missing';
  if (row.stored_at) return 'already_stored';
  const receivedAt = new Date(row.received_at);

  const drop = async (reason: MediaDropReason, key?: string, status?: number): Promise<FetchOutcome> => {
    deps.logger.warn({ media: mediaRowId, reason, status }, 'media file not stored');
    if (key) {
      await deps.store.delete(key);
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable('media')
          .set({ storage_key: null })
          .where('id', '=', mediaRowId)
          .where('storage_key', '=', key)
          .execute();
        await tx.deleteFrom('media_deletions').where('storage_key', '=', key).execute();
      });
    }
    return { dropped: reason };
  };

  const tenant = await deps.tenants.get(row.tenant_id).catch(() => undefined);
  if (!tenant) return 'missing';
  const token = tenant.secrets.accessToken;
  if (!token) return drop('no_access_token', row.storage_key ?? undefined);
  const cipher = await deps.subjectKeys.cipher(db, row.subject_id);
  if (!cipher) return drop('subject_gone', row.storage_key ?? undefined);
  const mediaId = cipher.decrypt(row.media_ref, 'media', 'media_ref', row.id);
  const announced = row.sha256 ? cipher.decrypt(row.sha256, 'media', 'sha256', row.id) : undefined;

  let key = row.storage_key;
  if (!key) {
    const fresh = deps.store.newKey(tenant.id);
    const r = await db
      .updateTable('media')
      .set({ storage_key: fresh })
      .where('id', '=', row.id)
      .where('storage_key', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) key = fresh;
    else {
      row = await db.selectFrom('media').selectAll().where('id', '=', mediaRowId).executeTakeFirst();
      if (!row?.storage_key) return 'missing';
      key = row.storage_key;
    }
  }

  /** Whether the row still exists and still names `key` as its file. */
  const holdsKey = async (id: string, storageKey: string) =>
    (await db
      .selectFrom('media')
      .select('id')
      .where('id', '=', id)
      .where('storage_key', '=', storageKey)
      .executeTakeFirst()) !== undefined;

  const hash = crypto.createHash('sha256');
  let size = 0;
  let expected = announced;
  try {
    const info = await deps.graph.retrieve(mediaId, token);
    expected ??= info.sha256;
    if (info.fileSize !== undefined && info.fileSize > max) throw new MediaFetchError('too_large', 200, true);
    const source = await deps.graph.download(info.url, token, max);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > max) return cb(new MediaFetchError('too_large', 200, true));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const encrypt = createEncryptStream({
      wrapKey: (fileKey) => wrapFileKey(cipher, row.id, fileKey),
      aad: mediaFileAad(row.id),
    });
    const body = new PassThrough();
    const [piped, stored] = await Promise.allSettled([
      pipeline(source, meter, encrypt, body),
      deps.store.put(key, body),
    ]);
    // The source side's error says why (a PassThrough destroyed by it makes the store's write fail too).
    if (piped.status === 'rejected') throw piped.reason;
    if (stored.status === 'rejected') throw stored.reason;
  } catch (err) {
    await deps.store.delete(key);
    // Erased (or swept) while downloading: the deletion of the reserved name may have removed the partial file
    // under the write, which is why it failed. Nothing is left to store or to retry.
    if (!(await holdsKey(row.id, key))) return 'missing';
    if (err instanceof MediaFetchError && err.permanent)
      return drop(err.reason as MediaDropReason, key, err.status);
    if (deps.clock().getTime() - receivedAt.getTime() > MEDIA_ID_LIFETIME_MS) return drop('expired', key);
    throw err;
  }

  if (expected && !digestMatches(hash.digest(), expected)) return drop('sha256_mismatch', key);
  const done = await db
    .updateTable('media')
    .set({ stored_at: deps.clock(), stored_size: size })
    .where('id', '=', row.id)
    .where('storage_key', '=', key)
    .executeTakeFirst();
  if (Number(done.numUpdatedRows) !== 1) {
    // Erased (or retention-swept) while downloading: the row is gone, so is its reason to keep the file.
    await deps.store.delete(key);
    return 'missing';
  }
  return 'stored';
}
