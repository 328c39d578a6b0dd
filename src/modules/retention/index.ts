export {
  runRetention,
  type ProgressListener,
  type RetentionDeps,
  type RetentionReport,
} from './run-retention.js';
export { RETENTION_QUEUE, startRetentionWorker } from './retention.worker.js';
export type { CategoryResult } from './sweep-batches.js';
