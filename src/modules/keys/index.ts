export type { JournalEntry, KeyStore, RotationState, StoredKey } from './key-store.js';
export { openKeyStore } from './open-key-store.js';
export { openKeyring } from './open-keyring.js';
export { moveLegacyKeys } from './move-legacy-keys.js';
export { SHRED_QUEUE, pendingShreds, shredPendingKeys } from './shred-keys.js';
export { startShredWorker } from './shred.worker.js';
export { rotateKeys, type RotationProgress, type RotationReport } from './rotate-keys.js';
export { replayErasures, type ReplayReport } from './replay-erasures.js';
