export { deleteMediaObject, sweepMediaDeletions } from './delete-media.js';
export { digestMatches, fetchMedia, MAX_MEDIA_BYTES, MEDIA_ID_LIFETIME_MS } from './fetch-media.js';
export { createGraphMediaClient, isTrustedMediaUrl, MediaFetchError } from './graph-media.js';
export { readMediaFile } from './media-file.js';
export type { MediaStore } from './media-store.js';
export { startMediaWorkers } from './media.worker.js';
export { openMediaStore } from './open-media-store.js';
export {
  enqueueMediaFetch,
  MEDIA_DELETE_QUEUE,
  MEDIA_FETCH_QUEUE,
  MEDIA_SWEEP_QUEUE,
  queueMediaDeletes,
} from './queue-media.js';
