import client from 'prom-client';

/** One registry per process (per app instance in tests). Labels are routes, statuses and enums: never identities. */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'flowguard_process_' });
  const httpRequests = new client.Counter({
    name: 'flowguard_http_requests_total',
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'flowguard_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const webhookEvents = new client.Counter({
    name: 'flowguard_webhook_events_total',
    help: 'Webhook events by type and outcome (ingested, duplicate, rejected, ignored)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const webhookBatchDeliveries = new client.Histogram({
    name: 'flowguard_webhook_batch_deliveries',
    help: 'Webhook deliveries written per transaction (group commit: those arriving while one is written wait)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const webhookBatchSplits = new client.Counter({
    name: 'flowguard_webhook_batch_splits_total',
    help: 'Webhook batches that failed and were written again one delivery at a time',
    registers: [registry],
  });
  const flowsEndpointDuration = new client.Histogram({
    name: 'flowguard_flows_endpoint_duration_seconds',
    help: 'Flows data endpoint latency by action and HTTP status',
    labelNames: ['action', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const flowsKeyUnwraps = new client.Counter({
    name: 'flowguard_flows_key_unwraps_total',
    help: 'RSA unwrapping of Flows request keys by where it ran (worker thread or event loop)',
    labelNames: ['on'] as const,
    registers: [registry],
  });
  const forwardDeliveries = new client.Counter({
    name: 'flowguard_forward_deliveries_total',
    help: 'Pass-through deliveries to downstream URLs by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Privacy requests, read from the store on each scrape (so every instance reports the shared truth).
  let requestCounts: RequestCountsSource | undefined;
  const requestsOpen = new client.Gauge({
    name: 'flowguard_requests_open',
    help: 'Privacy requests not yet closed, by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await requestCounts?.().catch(() => undefined);
      this.reset();
      for (const [status, n] of Object.entries(counts?.openByStatus ?? {})) this.set({ status }, n);
    },
  });
  const requestsOverdue = new client.Gauge({
    name: 'flowguard_requests_overdue',
    help: 'Open privacy requests past their due date, by request type',
    labelNames: ['type'] as const,
    registers: [registry],
    async collect() {
      const counts = await requestCounts?.().catch(() => undefined);
      this.reset();
      for (const [type, n] of Object.entries(counts?.overdueByType ?? {})) this.set({ type }, n);
    },
  });
  const alerts = new client.Counter({
    name: 'flowguard_alerts_total',
    help: 'Alerts raised by kind (dead-lettered tasks, deadlines, failed system checks)',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const connectorTasks = new client.Counter({
    name: 'flowguard_connector_tasks_total',
    help: 'Data-map system tasks by system type and outcome (done, retry, pending, dead)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    alerts,
    connectorTasks,
    httpRequests,
    httpDuration,
    webhookEvents,
    webhookBatchDeliveries,
    webhookBatchSplits,
    flowsEndpointDuration,
    flowsKeyUnwraps,
    forwardDeliveries,
    requestsOpen,
    requestsOverdue,
    /** Where the request gauges read from (the DSR module installs a store query). */
    useRequestCounts(source: RequestCountsSource): void {
      requestCounts = source;
    },
  };
}

/** Open requests by status and overdue ones by type (labels are enums only). */
export type RequestCountsSource = () => Promise<{
  openByStatus: Record<string, number>;
  overdueByType: Record<string, number>;
}>;

export type Metrics = ReturnType<typeof createMetrics>;
