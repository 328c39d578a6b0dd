export type { JournalEntry, KeyStore, RotationState, StoredKey } from './key-store.js';
export { openKeyStore } from './open-key-store.js';
export { openKeyring } from './open-keyring.js';
export { moveLegacyKeys } from './move-legacy-keys.js';
export { SHRED_QUEUE, pendingShreds, shredPendingKeys } from './shred-keys.js';
export { startShredWorker } from './shred.worker.js';
export { rotateKeys, type RotationProgress, type RotationReport } from './rotate-keys.js';
export { replayErasures, type ReplayReport } from './replay-erasures.js';
export {
  hmacVersionUsage,
  parseVersionedPurpose,
  VERSIONED_PURPOSES,
  type HmacUsage,
  type VersionedPurpose,
} from './hmac-usage.js';
export {
  KEY_REFRESH_SECONDS,
  retireHmacVersion,
  SHARED_ACTIVATION_SECONDS,
  startHmacVersion,
  type RetiredVersion,
  type StartedVersion,
} from './hmac-versions.js';
export { reindexHmac, type ReindexProgress, type ReindexReport } from './reindex-hmac.js';
export { startKeyRefresh } from './key-refresh.worker.js';
