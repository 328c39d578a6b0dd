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
  const flowsEndpointDuration = new client.Histogram({
    name: 'flowguard_flows_endpoint_duration_seconds',
    help: 'Flows data endpoint latency by action and HTTP status',
    labelNames: ['action', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const forwardDeliveries = new client.Counter({
    name: 'flowguard_forward_deliveries_total',
    help: 'Pass-through deliveries to downstream URLs by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, webhookEvents, flowsEndpointDuration, forwardDeliveries };
}

export type Metrics = ReturnType<typeof createMetrics>;
