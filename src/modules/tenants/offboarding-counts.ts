import { sql, type Kysely } from 'kysely';
import type { SystemSpec } from '../../config/datamap.js';
import type { DB } from '../../lib/db/schema.js';

/** Own-store tables of a tenant, by the names the proof report and the audit event use. */
export const OWN_TABLES = {
  subjects: 'subjects',
  identities: 'identities',
  messages: 'messages',
  flow_responses: 'flow_responses',
  media: 'media',
  delivery_statuses: 'message_statuses',
  flow_tokens: 'flow_tokens',
  pending_forwards: 'forward_outbox',
  suppressions: 'suppressions',
  processed_events: 'processed_events',
  outbound_notifications: 'outbound_notifications',
  erased_identities: 'erased_identities',
  api_keys: 'api_keys',
} as const;
export type OwnItem = keyof typeof OWN_TABLES | 'request_exports';

/** How many rows of each kind the tenant has in flowguard's own store. */
export async function countOwnStore(db: Kysely<DB>, tenantId: string): Promise<Record<OwnItem, number>> {
  const out = {} as Record<OwnItem, number>;
  for (const [item, table] of Object.entries(OWN_TABLES) as [keyof typeof OWN_TABLES, string][]) {
    const r = await sql<{
      n: string;
    }>`select count(*)::text as n from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(db);
    out[item] = Number(r.rows[0]?.n ?? 0);
  }
  const exports = await sql<{ n: string }>`select count(*)::text as n from request_exports e
    join privacy_requests r on r.id = e.request_id where r.tenant_id = ${tenantId}`.execute(db);
  out.request_exports = Number(exports.rows[0]?.n ?? 0);
  return out;
}

export interface SystemProof {
  id: string;
  tasks: Record<string, number>;
  /** Sums of the systems' outcome counts (deleted, masked, retained, verified, ...). */
  outcomes: Record<string, number>;
}

/** Per data-map system: task states and outcome totals of the tenant's erasure requests since `since`. */
export async function systemProofs(db: Kysely<DB>, tenantId: string, since: Date): Promise<SystemProof[]> {
  const rows = await db
    .selectFrom('request_tasks as t')
    .innerJoin('privacy_requests as r', 'r.id', 't.request_id')
    .select(['t.system_id', 't.status', 't.counts'])
    .where('r.tenant_id', '=', tenantId)
    .where('r.type', '=', 'erasure')
    .where('r.received_at', '>=', since)
    .where('t.system_id', '!=', 'flowguard')
    .execute();
  const by = new Map<string, SystemProof>();
  for (const row of rows) {
    const p = by.get(row.system_id) ?? { id: row.system_id, tasks: {}, outcomes: {} };
    p.tasks[row.status] = (p.tasks[row.status] ?? 0) + 1;
    for (const [k, v] of Object.entries(row.counts ?? {})) p.outcomes[k] = (p.outcomes[k] ?? 0) + Number(v);
    by.set(row.system_id, p);
  }
  return [...by.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** What the data map keeps under a legal obligation (names and the configured reason, never values). */
export function retainedRecords(systems: SystemSpec[]): { system: string; table?: string; reason: string }[] {
  const out: { system: string; table?: string; reason: string }[] = [];
  for (const s of systems) {
    if (s.retain) out.push({ system: s.id, reason: s.retain.reason });
    if ('collections' in s) {
      for (const c of s.collections)
        if (c.retain) out.push({ system: s.id, table: c.table, reason: c.retain.reason });
    }
  }
  return out;
}

/** The tenant's requests that are still open, and those that failed (a system could not be reached). */
export async function requestStates(
  db: Kysely<DB>,
  tenantId: string,
): Promise<{ open: number; failed: number; total: number }> {
  const rows = await db
    .selectFrom('privacy_requests')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('tenant_id', '=', tenantId)
    .groupBy('status')
    .execute();
  let open = 0;
  let failed = 0;
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    total += n;
    if (['received', 'awaiting_verification', 'verified', 'executing'].includes(r.status)) open += n;
    if (r.status === 'failed') failed += n;
  }
  return { open, failed, total };
}
