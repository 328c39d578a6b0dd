import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

/**
 * One sweep at a time, whichever instance (or `flowguard retention run`) starts it: a lease row taken when free
 * or expired, renewed while the sweep works, released at the end with the run's summary. A crashed sweeper's
 * lease runs out after LEASE_SECONDS and the next run takes over.
 */
export const LEASE_SECONDS = 120;

export interface RetentionLease {
  readonly owner: string;
  /** Extend the lease; false when another sweeper took it (ours had run out). */
  renew(): Promise<boolean>;
  release(summary: Record<string, unknown>): Promise<void>;
}

const until = () => sql<Date>`now() + ${LEASE_SECONDS}::integer * interval '1 second'`;

export async function acquireRetentionLease(db: Kysely<DB>): Promise<RetentionLease | undefined> {
  const owner = crypto.randomUUID();
  const taken = await sql<{ owner: string }>`
    insert into retention_lease (id, owner, lease_until, started_at, finished_at)
    values (true, ${owner}, ${until()}, now(), null)
    on conflict (id) do update
      set owner = excluded.owner, lease_until = excluded.lease_until, started_at = now(), finished_at = null
      where retention_lease.lease_until <= now()
    returning owner`.execute(db);
  if (taken.rows[0]?.owner !== owner) return undefined;
  let lastRenew = Date.now();
  return {
    owner,
    async renew() {
      if (Date.now() - lastRenew < 10_000) return true;
      const r = await sql`update retention_lease set lease_until = ${until()} where owner = ${owner}`.execute(
        db,
      );
      lastRenew = Date.now();
      return Number(r.numAffectedRows ?? 0n) === 1;
    },
    async release(summary) {
      await sql`update retention_lease set lease_until = now(), finished_at = now(),
        summary = ${JSON.stringify(summary)}::jsonb where owner = ${owner}`.execute(db);
    },
  };
}
