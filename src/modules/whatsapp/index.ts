export { registerWebhookRoutes, WEBHOOK_PATH } from './webhook.routes.js';
export {
  createWebhookIngest,
  storedEventKey,
  type IngestReport,
  type WebhookIngest,
  type WebhookIngestDeps,
} from './ingest-webhook.js';
export { applyPreference, type SuppressionReason } from './apply-preference.js';
export {
  eventKey,
  isStopKeyword,
  parseWebhook,
  STOP_KEYWORDS,
  type EventSource,
  type FlowReply,
  type MessageEvent,
  type ParsedWebhook,
  type WebhookEvent,
} from './parse-webhook.js';
