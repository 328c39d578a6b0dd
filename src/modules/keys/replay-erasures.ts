import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { appendAudit } from '../audit/index.js';
import type { KeyStore } from './key-store.js';

export interface ReplayReport {
  dryRun: boolean;
  /** Subjects in the restored database. */
  scanned: number;
  /** Subjects the key store's journal says were erased: deleted again (or, dry run, would be). */
  erased: number;
  /** Subjects with neither a key nor a journal entry: their data cannot be read (kept, for a human to judge). */
  missingKeys: number;
  requestsClosed: number;
  notificationsDropped: number;
  journalEntries: number;
  tenants: Record<string, number>;
}

const OPEN = ['received', 'awaiting_verification', 'verified', 'executing'] as const;

/**
 * After a database restore: erase again everyone the key store's erasure journal lists. The journal lives
 * with the keys, not in the restored database, so it knows of erasures made after the backup was taken. Every
 * subject of the restored database is looked up by its keyed reference, batch by batch; each one found is
 * deleted (cascading to everything that references it; the delete's trigger journals it again and the shred
 * job finds its key already gone). Their requests lose what the backup still held of them (sealed identities,
 * parameters, pending messages and exports); those still open are closed as completed, since the erasure they
 * asked for was carried out after the backup. One audit event per tenant records the counts. Run it before
 * `serve`, so no queued job of the restored database acts on them first.
 */
export async function replayErasures(
  deps: {
    db: Kysely<DB>;
    keyring: Keyring;
    keyStore: Pick<KeyStore, 'journaled' | 'present' | 'journalSize'>;
    clock?: () => Date;
  },
  opts: { batchSize?: number; dryRun?: boolean } = {},
): Promise<ReplayReport> {
  const batchSize = opts.batchSize ?? 500;
  const now = deps.clock ?? (() => new Date());
  const report: ReplayReport = {
    dryRun: Boolean(opts.dryRun),
    scanned: 0,
    erased: 0,
    missingKeys: 0,
    requestsClosed: 0,
    notificationsDropped: 0,
    journalEntries: await deps.keyStore.journalSize(),
    tenants: {},
  };
  let after: string | null = null;
  for (;;) {
    let q = deps.db.selectFrom('subjects').select(['id', 'tenant_id']).orderBy('id').limit(batchSize);
    if (after !== null) q = q.where('id', '>', after);
    const rows = await q.execute();
    if (rows.length === 0) break;
    after = rows.at(-1)!.id;
    report.scanned += rows.length;
    const refs = rows.map((r) => ({ ...r, ref: deps.keyring.hmac('subject-ref', r.id) }));
    const journaled = await deps.keyStore.journaled(refs.map((r) => r.ref));
    const hits = refs.filter((r) => journaled.has(r.ref));
    const present = await deps.keyStore.present(refs.filter((r) => !journaled.has(r.ref)).map((r) => r.ref));
    report.missingKeys += refs.filter((r) => !journaled.has(r.ref) && !present.has(r.ref)).length;
    if (hits.length === 0) continue;
    report.erased += hits.length;
    for (const h of hits) report.tenants[h.tenant_id] = (report.tenants[h.tenant_id] ?? 0) + 1;
    if (opts.dryRun) continue;
    await deps.db.transaction().execute(async (tx) => {
      const ids = hits.map((h) => h.id);
      const requests = await tx
        .selectFrom('privacy_requests')
        .select(['id', 'tenant_id', 'status'])
        .where('subject_id', 'in', ids)
        .execute();
      const requestIds = requests.map((r) => r.id);
      const closedBy = new Map<string, number>();
      const droppedBy = new Map<string, number>();
      if (requestIds.length) {
        const open = requests.filter((r) => (OPEN as readonly string[]).includes(r.status));
        for (const r of open) closedBy.set(r.tenant_id, (closedBy.get(r.tenant_id) ?? 0) + 1);
        if (open.length) {
          await tx
            .updateTable('privacy_requests')
            .set({
              status: 'completed',
              completed_at: now(),
              result: JSON.stringify({ replayed_after_restore: true }),
            })
            .where(
              'id',
              'in',
              open.map((r) => r.id),
            )
            .execute();
          await tx
            .updateTable('request_tasks')
            .set({ status: 'skipped', updated_at: now() })
            .where(
              'request_id',
              'in',
              open.map((r) => r.id),
            )
            .where('status', 'in', ['pending', 'running', 'failed'])
            .execute();
        }
        await tx
          .updateTable('privacy_requests')
          .set({ identities: null, params: null, confirmation_hash: null })
          .where('id', 'in', requestIds)
          .execute();
        const dropped = await tx
          .deleteFrom('outbound_notifications')
          .where('request_id', 'in', requestIds)
          .returning('tenant_id')
          .execute();
        for (const d of dropped) droppedBy.set(d.tenant_id, (droppedBy.get(d.tenant_id) ?? 0) + 1);
        await tx.deleteFrom('request_exports').where('request_id', 'in', requestIds).execute();
        report.requestsClosed += open.length;
        report.notificationsDropped += dropped.length;
      }
      await tx.deleteFrom('subjects').where('id', 'in', ids).execute();
      const perTenant = new Map<string, number>();
      for (const h of hits) perTenant.set(h.tenant_id, (perTenant.get(h.tenant_id) ?? 0) + 1);
      for (const [tenantId, subjects] of perTenant) {
        await appendAudit(tx, deps.keyring, {
          tenantId,
          type: 'erasure.replayed',
          actor: { type: 'cli' },
          data: {
            subjects,
            requests_closed: closedBy.get(tenantId) ?? 0,
            notifications_dropped: droppedBy.get(tenantId) ?? 0,
          },
        });
      }
    });
  }
  return report;
}
