export type { EnqueueForwardInput, ForwardEvent, Forwarder } from './forward.types.js';
export {
  createForwarder,
  forwardEnvelope,
  FORWARD_QUEUE,
  type DrainKey,
  type ForwarderDeps,
} from './enqueue-forward.js';
export {
  drainConversation,
  ForwardDeliveryError,
  type DrainDeps,
  type DrainOptions,
  type DrainResult,
} from './drain-conversation.js';
export { signBody, type ForwardTarget } from './deliver.js';
export { handleDrainJob, startForwardWorker } from './forward.worker.js';
