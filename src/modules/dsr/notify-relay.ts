import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { Queue } from '../../jobs/queue.js';

export const RELAY_QUEUE = 'notify.relay';

/**
 * Queue the send job of every notification row not queued yet: the transaction that writes a row (a request's
 * completion, a confirmation to ask for) does not insert the job itself, which keeps pg-boss' insert out of it.
 * Rows are claimed with FOR UPDATE SKIP LOCKED, and their jobs inserted and `queued_at` set in one transaction,
 * so several relays may run at once, a crash leaves a row to the next run, and no row gets two jobs. Runs when
 * rows are committed (the table's wake trigger), at start and on a schedule. Returns how many it queued.
 */
export async function relayNotifications(
  db: Kysely<DB>,
  queue: Pick<Queue, 'batch' | 'send'>,
  opts: { batchSize?: number } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? 500;
  let total = 0;
  for (;;) {
    const n = await db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('outbound_notifications')
        .select('id')
        .where('queued_at', 'is', null)
        .orderBy('created_at')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      await queue.batch(tx, async () => {
        for (const notificationId of ids) await queue.send(tx, 'notify.send', { notificationId });
      });
      await tx
        .updateTable('outbound_notifications')
        .set({ queued_at: sql<Date>`now()` })
        .where('id', '=', sql<string>`any(${ids}::uuid[])`)
        .execute();
      return rows.length;
    });
    total += n;
    if (n < batchSize) return total;
  }
}
