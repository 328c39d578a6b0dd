import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

export type CounterName = 'flow_completions' | 'erasure_requests' | 'reengaged';

/**
 * The statement that adds to a tenant's compliance counter, to run on its own (bumpCounter) or as a CTE of
 * another write of the same transaction (one round trip for both).
 */
export function counterBump(qc: QueryCreator<DB>, tenantId: string, name: CounterName, by = 1) {
  return qc
    .insertInto('compliance_counters')
    .values({ tenant_id: tenantId, name, value: by })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'name']).doUpdateSet({ value: sql`compliance_counters.value + ${by}` }),
    )
    .returning('value');
}

/** Add to a tenant's compliance counter inside the caller's transaction (it counts only what commits). */
export async function bumpCounter(
  tx: Kysely<DB>,
  tenantId: string,
  name: CounterName,
  by = 1,
): Promise<void> {
  await counterBump(tx, tenantId, name, by).execute();
}

/**
 * Re-engagement (tenants that enable it): remember the blind indexes of a fully erased person for a bounded
 * window; a new subject whose identity matches one of them came back after a full wipe.
 */
export async function rememberErased(
  tx: Kysely<DB>,
  tenantId: string,
  blindIndexes: string[],
): Promise<void> {
  if (blindIndexes.length === 0) return;
  await tx
    .insertInto('erased_identities')
    .values(blindIndexes.map((b) => ({ tenant_id: tenantId, blind_index: b })))
    .onConflict((oc) => oc.columns(['tenant_id', 'blind_index']).doUpdateSet({ erased_at: new Date() }))
    .execute();
}

/** Count a returning person once: the matched entries are consumed. */
export async function noteReturn(
  tx: Kysely<DB>,
  tenantId: string,
  blindIndexes: string[],
  windowDays: number,
  now: Date,
): Promise<boolean> {
  if (blindIndexes.length === 0) return false;
  const since = new Date(now.getTime() - windowDays * 86_400_000);
  const matched = await tx
    .deleteFrom('erased_identities')
    .where('tenant_id', '=', tenantId)
    .where('blind_index', 'in', blindIndexes)
    .where('erased_at', '>=', since)
    .returning('blind_index')
    .execute();
  if (matched.length === 0) return false;
  await bumpCounter(tx, tenantId, 'reengaged');
  return true;
}
