import { sql } from 'kysely';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import type { ComplianceSummary } from '../api-shapes.js';
import { scopeTenant } from '../tenant-scope.js';

const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
const DAY_MS = 86_400_000;

/**
 * The seed's compliance metrics as JSON for the dashboard, computed from the request records and counters (the
 * same sources as /metrics): completion rate, deletion latency p50/p99, trust coefficient and requests per day.
 * Aggregates only: nothing about a person.
 */
export async function complianceSummary(
  deps: Pick<AdminDeps, 'database' | 'clock'>,
  principal: AdminPrincipal,
  query: { tenant?: string | undefined; days: number },
): Promise<ComplianceSummary> {
  const db = deps.database.db;
  const tenantId = scopeTenant(principal, query.tenant);
  const now = deps.clock();
  const inTenant = tenantId === undefined ? sql`` : sql`and tenant_id = ${tenantId}`;
  const nowAt = sql`${now.toISOString()}::timestamptz`;
  const first = new Date(now.getTime() - (query.days - 1) * DAY_MS).toISOString().slice(0, 10);
  const last = now.toISOString().slice(0, 10);

  const totals = await sql<Record<'received' | 'completed' | 'failed' | 'open' | 'overdue', string>>`
    select count(*)::text as received,
           count(*) filter (where status = 'completed')::text as completed,
           count(*) filter (where status = 'failed')::text as failed,
           count(*) filter (where status in ('received', 'awaiting_verification', 'verified', 'executing'))::text as open,
           count(*) filter (where status in ('received', 'awaiting_verification', 'verified', 'executing')
                            and due_at < ${nowAt})::text as overdue
    from privacy_requests where true ${inTenant}`.execute(db);
  const latency = await sql<{ p50: string | null; p99: string | null; n: string }>`
    select percentile_cont(0.5) within group (order by extract(epoch from completed_at - received_at))::text as p50,
           percentile_cont(0.99) within group (order by extract(epoch from completed_at - received_at))::text as p99,
           count(*)::text as n
    from privacy_requests
    where type = 'erasure' and status = 'completed' and completed_at is not null ${inTenant}`.execute(db);
  const counters = await sql<{ name: string; total: string }>`
    select name, sum(value)::text as total from compliance_counters where true ${inTenant} group by name`.execute(
    db,
  );
  const days = await sql<Record<string, string | null>>`
    with days as (
      select d::date as day from generate_series(${first}::date, ${last}::date, interval '1 day') d
    ), received as (
      select (received_at at time zone 'UTC')::date as day, count(*) as n
      from privacy_requests where received_at >= ${first}::date ${inTenant} group by 1
    ), finished as (
      select (completed_at at time zone 'UTC')::date as day,
             count(*) filter (where status = 'completed') as completed,
             count(*) filter (where status = 'failed') as failed,
             percentile_cont(0.5) within group (order by extract(epoch from completed_at - received_at))
               filter (where type = 'erasure' and status = 'completed') as p50,
             percentile_cont(0.99) within group (order by extract(epoch from completed_at - received_at))
               filter (where type = 'erasure' and status = 'completed') as p99
      from privacy_requests
      where completed_at is not null and completed_at >= ${first}::date ${inTenant} group by 1
    )
    select to_char(days.day, 'YYYY-MM-DD') as date, coalesce(r.n, 0)::text as received,
           coalesce(f.completed, 0)::text as completed, coalesce(f.failed, 0)::text as failed,
           f.p50::text as p50, f.p99::text as p99
    from days left join received r on r.day = days.day left join finished f on f.day = days.day
    order by days.day`.execute(db);

  const t = totals.rows[0]!;
  const completed = Number(t.completed);
  const failed = Number(t.failed);
  const counter = (name: string) => Number(counters.rows.find((c) => c.name === name)?.total ?? 0);
  const flows = counter('flow_completions');
  const erasures = counter('erasure_requests');
  const l = latency.rows[0]!;
  return {
    tenant: tenantId ?? null,
    generated_at: now.toISOString(),
    window_days: query.days,
    totals: {
      received: Number(t.received),
      completed,
      failed,
      open: Number(t.open),
      overdue: Number(t.overdue),
    },
    completion_rate: completed + failed > 0 ? completed / (completed + failed) : null,
    deletion_latency_seconds: { p50: num(l.p50), p99: num(l.p99), count: Number(l.n) },
    trust_coefficient: erasures > 0 ? flows / erasures : null,
    flow_completions: flows,
    erasure_requests: erasures,
    per_day: days.rows.map((d) => {
      const c = Number(d.completed);
      const f = Number(d.failed);
      return {
        date: d.date!,
        received: Number(d.received),
        completed: c,
        failed: f,
        completion_rate: c + f > 0 ? c / (c + f) : null,
        deletion_p50_seconds: num(d.p50),
        deletion_p99_seconds: num(d.p99),
      };
    }),
  };
}
