import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DB } from '../../src/lib/db/schema.js';
import { startNotifyWorker } from '../../src/modules/dsr/index.js';
import { enqueueNotification } from '../../src/modules/dsr/notify.js';
import { relayNotifications } from '../../src/modules/dsr/notify-relay.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * A notification row is written in the transaction that needs it, without its send job; the relay queues the
 * job after the commit: woken by the row's commit, at start and on a schedule. One job per row, never two, and
 * none for a row that was rolled back.
 */
describe.each(storeKinds())('notification relay on %s', (kind) => {
  let t: TestApp;
  let db: Kysely<DB>;
  beforeAll(async () => {
    t = await createTestApp(kind);
    db = t.ctx.database.db;
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await sql`delete from pgboss.job where name = 'notify.send'`.execute(db);
    await db.deleteFrom('outbound_notifications').execute();
  });

  const enqueue = (tx: Kysely<DB>) =>
    enqueueNotification(tx, t.ctx, {
      tenantId: 'default',
      requestId: null,
      recipient: { kind: 'phone', value: fakePerson().e164 },
      kind: 'request_completed',
      params: { reference: 'FG-TEST', request_type: 'erasure' },
    });
  const sendJobs = async () =>
    (
      await sql<{
        notification_id: string;
      }>`select data->>'notificationId' as notification_id from pgboss.job where name = 'notify.send'`.execute(
        db,
      )
    ).rows
      .map((r) => r.notification_id)
      .sort();
  const unqueued = async () =>
    (await db.selectFrom('outbound_notifications').select('id').where('queued_at', 'is', null).execute())
      .map((r) => r.id)
      .sort();

  it('queues one send job per committed row, none for a rolled-back one, however many relays run', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await db.transaction().execute(enqueue));
    await expect(
      db.transaction().execute(async (tx) => {
        await enqueue(tx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    // Written without a job: nothing is queued until a relay runs.
    expect(await sendJobs()).toEqual([]);
    expect(await unqueued()).toEqual([...ids].sort());

    const runs = await Promise.all([
      relayNotifications(db, t.ctx.queue, { batchSize: 7 }),
      relayNotifications(db, t.ctx.queue, { batchSize: 7 }),
      relayNotifications(db, t.ctx.queue, { batchSize: 7 }),
    ]);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(30);
    expect(await sendJobs()).toEqual([...ids].sort());
    expect(await unqueued()).toEqual([]);
    expect(await relayNotifications(db, t.ctx.queue)).toBe(0);
    expect(await sendJobs()).toHaveLength(30);
  });

  it('relays at start what was written while no worker ran, then each row as soon as it commits', async () => {
    const early = await db.transaction().execute(enqueue);
    expect(await unqueued()).toEqual([early]);
    await startNotifyWorker(t.ctx);
    expect(await unqueued()).toEqual([]);
    const later = await db.transaction().execute(enqueue);
    // The schedule's next run is up to a minute away: the row's commit is what wakes the relay.
    await expect.poll(unqueued, { timeout: 10_000, interval: 100 }).toEqual([]);
    const rows = await db.selectFrom('outbound_notifications').select(['id', 'queued_at']).execute();
    // The worker may have sent (and deleted) them by now; any left were queued.
    for (const r of rows) expect(r.queued_at).not.toBeNull();
    expect(rows.every((r) => [early, later].includes(r.id))).toBe(true);
  });
});
