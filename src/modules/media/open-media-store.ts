import path from 'node:path';
import type { Config } from '../../config/config.js';
import { createFileMediaStore } from './file-media-store.js';
import type { MediaStore } from './media-store.js';

/** The process's media store: files under FLOWGUARD_DATA_DIR/media (an object store would be chosen here). */
export function openMediaStore(config: Pick<Config, 'dataDir'>): MediaStore {
  return createFileMediaStore(path.join(config.dataDir, 'media'));
}
