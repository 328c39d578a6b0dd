import { sql, type Kysely } from 'kysely';
import client from 'prom-client';
import type { DB } from '../../lib/db/schema.js';

/**
 * The seed's four compliance metrics, read from the store on each scrape so that every instance reports the
 * same numbers and they survive restarts and erasures:
 * - DSAR completion rate: finished requests that completed without errors (target > 99.9%).
 * - Deletion latency: request received → own data purged (target < 5 s), as a Prometheus histogram.
 * - Trust coefficient: Flow completions : deletion requests (target > 50:1).
 * - Post-deletion re-engagement: people back after a full wipe, only for tenants that enable it (< 5%).
 * Labels are tenant ids, request types and statuses: never anything about a person.
 */

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400, 2_592_000];

export interface ComplianceSource {
  db: Kysely<DB>;
  /** Tenants that track re-engagement (the metric is reported only for them). */
  reengagementTenants: () => Promise<string[]>;
}

export function registerComplianceMetrics(registry: client.Registry, source: ComplianceSource): void {
  const { db } = source;

  new client.Gauge({
    name: 'flowguard_dsar_requests',
    help: 'Privacy requests on record by tenant, type and status',
    labelNames: ['tenant', 'type', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db
        .selectFrom('privacy_requests')
        .select(['tenant_id', 'type', 'status', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy(['tenant_id', 'type', 'status'])
        .execute();
      for (const r of rows) this.set({ tenant: r.tenant_id, type: r.type, status: r.status }, Number(r.n));
    },
  });

  new client.Gauge({
    name: 'flowguard_dsar_completion_rate',
    help: 'Finished privacy requests that completed without errors (completed / (completed + failed))',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await sql<{ tenant_id: string; completed: string; failed: string }>`
        select tenant_id,
               count(*) filter (where status = 'completed')::text as completed,
               count(*) filter (where status = 'failed')::text as failed
        from privacy_requests where status in ('completed', 'failed') group by tenant_id`.execute(db);
      for (const r of rows.rows) {
        const done = Number(r.completed) + Number(r.failed);
        if (done > 0) this.set({ tenant: r.tenant_id }, Number(r.completed) / done);
      }
    },
  });

  const counters = async () =>
    db.selectFrom('compliance_counters').select(['tenant_id', 'name', 'value']).execute();

  new client.Gauge({
    name: 'flowguard_flow_completions',
    help: 'WhatsApp Flow completions received, by tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await counters())
        if (c.name === 'flow_completions') this.set({ tenant: c.tenant_id }, Number(c.value));
    },
  });

  new client.Gauge({
    name: 'flowguard_erasure_requests',
    help: 'Erasure requests received (joined duplicates counted once), by tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await counters())
        if (c.name === 'erasure_requests') this.set({ tenant: c.tenant_id }, Number(c.value));
    },
  });

  new client.Gauge({
    name: 'flowguard_trust_coefficient',
    help: 'Flow completions per erasure request (the seed targets more than 50)',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const byTenant = new Map<string, { flows: number; erasures: number }>();
      for (const c of await counters()) {
        const e = byTenant.get(c.tenant_id) ?? { flows: 0, erasures: 0 };
        if (c.name === 'flow_completions') e.flows = Number(c.value);
        if (c.name === 'erasure_requests') e.erasures = Number(c.value);
        byTenant.set(c.tenant_id, e);
      }
      for (const [tenant, e] of byTenant) if (e.erasures > 0) this.set({ tenant }, e.flows / e.erasures);
    },
  });

  new client.Gauge({
    name: 'flowguard_post_deletion_reengagement_rate',
    help: 'People who came back after a full erasure, per full erasure (tenants that enable tracking only)',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const enabled = new Set(await source.reengagementTenants());
      if (enabled.size === 0) return;
      const full = await db
        .selectFrom('privacy_requests')
        .select(['tenant_id', (eb) => eb.fn.countAll<string>().as('n')])
        .where('type', '=', 'erasure')
        .where('scope', '=', 'all')
        .where('status', '=', 'completed')
        .groupBy('tenant_id')
        .execute();
      const back = new Map(
        (await counters()).filter((c) => c.name === 'reengaged').map((c) => [c.tenant_id, Number(c.value)]),
      );
      for (const r of full) {
        if (enabled.has(r.tenant_id) && Number(r.n) > 0)
          this.set({ tenant: r.tenant_id }, (back.get(r.tenant_id) ?? 0) / Number(r.n));
      }
    },
  });

  // A histogram computed from the request records: cumulative buckets, sum and count per tenant.
  const name = 'flowguard_deletion_latency_seconds';
  const help = 'Erasure requests from receipt to own-store purge, in seconds';
  registry.registerMetric({
    name,
    help,
    type: 'histogram' as unknown as client.MetricType,
    aggregator: 'sum',
    async get() {
      const buckets = LATENCY_BUCKETS.map(
        (le, i) => sql`count(*) filter (where latency <= ${le})::text as ${sql.ref(`b${i}`)}`,
      );
      const rows = await sql<Record<string, string>>`
        with done as (
          select tenant_id, extract(epoch from (completed_at - received_at))::float8 as latency
          from privacy_requests where type = 'erasure' and status = 'completed' and completed_at is not null
        )
        select tenant_id, ${sql.join(buckets)}, count(*)::text as n, coalesce(sum(latency), 0)::text as total
        from done group by tenant_id`.execute(db);
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const r of rows.rows) {
        const tenant = r.tenant_id!;
        LATENCY_BUCKETS.forEach((le, i) =>
          values.push({ labels: { tenant, le }, value: Number(r[`b${i}`]), metricName: `${name}_bucket` }),
        );
        values.push({ labels: { tenant, le: '+Inf' }, value: Number(r.n), metricName: `${name}_bucket` });
        values.push({ labels: { tenant }, value: Number(r.total), metricName: `${name}_sum` });
        values.push({ labels: { tenant }, value: Number(r.n), metricName: `${name}_count` });
      }
      return {
        name,
        help,
        type: 'histogram' as unknown as client.MetricType,
        aggregator: 'sum' as const,
        values,
      };
    },
    reset() {},
  } as unknown as client.Metric<string>);
}
