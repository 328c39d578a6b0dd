import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DB } from '../../src/lib/db/schema.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * queue.batch: the jobs an operation sends through its transaction are inserted together when it returns, still
 * in the transaction (so they run only after the commit and vanish with a rollback), and are the same rows a
 * plain send makes.
 */
describe.each(storeKinds())('batched enqueue on %s', (kind) => {
  let t: TestApp;
  let db: Kysely<DB>;
  beforeAll(async () => {
    t = await createTestApp(kind);
    db = t.ctx.database.db;
    await t.ctx.queue.start();
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await sql`delete from pgboss.job where name in ('notify.send', 'media.delete', 'keys.shred')`.execute(db);
  });

  const jobs = (on: Kysely<DB> = db) =>
    sql<{
      id: string;
      name: string;
      data: unknown;
      state: string;
      priority: number;
      retry_limit: number;
      retry_delay: number;
      retry_backoff: boolean;
      expire_in: unknown;
      keep_for: unknown;
      starts_in_s: number;
      dead_letter: string | null;
      policy: string | null;
      singleton_key: string | null;
    }>`select id, name, data, state, priority, retry_limit, retry_delay, retry_backoff, expire_in,
        keep_until - start_after as keep_for, extract(epoch from start_after - created_on)::int as starts_in_s, dead_letter, policy,
        singleton_key
      from pgboss.job where name in ('notify.send', 'media.delete', 'keys.shred')
      order by name, data::text`
      .execute(on)
      .then((r) => r.rows);

  it('inserts the held jobs when the operation returns, as the rows a send makes', async () => {
    await db.transaction().execute(async (tx) => {
      await t.ctx.queue.send(tx, 'notify.send', { notificationId: 'sent' });
      await t.ctx.queue.send(tx, 'media.delete', { storageKey: 'sent' });
    });
    const ids = await db.transaction().execute((tx) =>
      t.ctx.queue.batch(tx, async () => {
        const a = await t.ctx.queue.send(tx, 'notify.send', { notificationId: 'held' });
        // Nested: one batch, inserted by the outermost.
        const b = await t.ctx.queue.batch(tx, () =>
          t.ctx.queue.send(tx, 'media.delete', { storageKey: 'held' }),
        );
        expect((await jobs(tx)).length).toBe(2);
        return [a, b];
      }),
    );
    const rows = await jobs();
    expect(rows.map((r) => `${r.name} ${JSON.stringify(r.data)}`)).toEqual([
      'media.delete {"storageKey":"held"}',
      'media.delete {"storageKey":"sent"}',
      'notify.send {"notificationId":"held"}',
      'notify.send {"notificationId":"sent"}',
    ]);
    const held = rows.filter((r) => JSON.stringify(r.data).includes('held'));
    expect(held.map((r) => r.id).sort()).toEqual([...ids].sort());
    const sameAs = (r: (typeof rows)[number]) => ({ ...r, id: undefined, data: undefined });
    expect(sameAs(rows[0]!)).toEqual(sameAs(rows[1]!));
    expect(sameAs(rows[2]!)).toEqual(sameAs(rows[3]!));
    expect(rows[2]).toMatchObject({ state: 'created', retry_limit: 10, dead_letter: 'notify.send.dead' });
  });

  it('inserts nothing when the operation throws, and a short queue keeps one waiting job', async () => {
    await expect(
      db.transaction().execute((tx) =>
        t.ctx.queue.batch(tx, async () => {
          await t.ctx.queue.send(tx, 'notify.send', { notificationId: 'lost' });
          throw new Error('the change failed');
        }),
      ),
    ).rejects.toThrow('the change failed');
    await db.transaction().execute(async (tx) => {
      await t.ctx.queue
        .batch(tx, async () => {
          await t.ctx.queue.send(tx, 'notify.send', { notificationId: 'dropped' });
          throw new Error('caught');
        })
        .catch(() => undefined);
    });
    expect(await jobs()).toEqual([]);
    await db.transaction().execute(async (tx) => {
      await t.ctx.queue.send(tx, 'keys.shred', {});
      await t.ctx.queue.batch(tx, async () => {
        await t.ctx.queue.send(tx, 'keys.shred', {});
        await t.ctx.queue.send(tx, 'keys.shred', {});
      });
    });
    expect((await jobs()).map((r) => `${r.name} ${r.state}`)).toEqual(['keys.shred created']);
  });

  it('sends a job with options at once, inside the batch', async () => {
    await db.transaction().execute((tx) =>
      t.ctx.queue.batch(tx, async () => {
        await t.ctx.queue.send(tx, 'notify.send', { notificationId: 'later' }, { startAfter: 60 });
        expect((await jobs(tx)).map((r) => r.name)).toEqual(['notify.send']);
      }),
    );
    const [row] = await jobs();
    expect(row?.starts_in_s).toBeGreaterThanOrEqual(59);
  });
});
