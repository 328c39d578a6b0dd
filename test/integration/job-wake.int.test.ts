import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/jobs/queue.js';
import { JOB_CHANNEL } from '../../src/jobs/wake-on-commit.js';
import type { Database } from '../../src/lib/db/database.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Jobs wake workers when their transaction commits: the job table's trigger NOTIFYs the queue name, which
 * PostgreSQL delivers at commit only. A rolled-back enqueue must notify nobody. A job not due yet (a retry
 * after its delay, `startAfter`) notifies how long until it is.
 */
describe.each(storeKinds())('job notifications on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    await t.ctx.queue.start();
  });
  afterAll(async () => t?.close());

  it('notifies the queue name of a committed job, and nothing for a rolled-back one', async () => {
    const heard: string[] = [];
    let wake: () => void = () => {};
    const next = () => new Promise<void>((resolve) => (wake = resolve));
    const stop = await t.ctx.database.listen(JOB_CHANNEL, (payload) => {
      heard.push(payload);
      wake();
    });
    try {
      const db = t.ctx.database.db;
      await expect(
        db.transaction().execute(async (tx) => {
          await t.ctx.queue.send(tx, 'media.sweep', {});
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      const first = next();
      await db.transaction().execute(async (tx) => {
        await t.ctx.queue.send(tx, 'deadlines.check', {});
        // Not delivered before the commit: nothing heard while the transaction is open.
        expect(heard).toEqual([]);
      });
      await first;
      expect(heard).toEqual(['deadlines.check']);

      const deferred = next();
      await t.ctx.queue.send(db, 'deadlines.check', {}, { startAfter: 30 });
      await deferred;
      const [name, ms] = heard[1]!.split('@');
      expect(name).toBe('deadlines.check');
      expect(Number(ms)).toBeGreaterThan(25_000);
      expect(Number(ms)).toBeLessThanOrEqual(30_000);
    } finally {
      await stop();
    }
  });

  it('notifies the retry of a failed job with its delay', async () => {
    const heard: string[] = [];
    const stop = await t.ctx.database.listen(JOB_CHANNEL, (payload) => heard.push(payload));
    try {
      const id = await t.ctx.queue.send(
        t.ctx.database.db,
        'datamap.selfcheck',
        {},
        { retryLimit: 1, retryDelay: 20 },
      );
      const [job] = await t.ctx.queue.boss.fetch('datamap.selfcheck');
      expect(job?.id).toBe(id);
      await t.ctx.queue.boss.fail('datamap.selfcheck', id!, { message: 'test failure' });
      await waitFor(
        () => heard.some((p) => p.startsWith('datamap.selfcheck@')),
        10_000,
        'the retry notification',
      );
      const ms = Number(heard.find((p) => p.startsWith('datamap.selfcheck@'))!.split('@')[1]);
      expect(ms).toBeGreaterThan(15_000);
      expect(ms).toBeLessThanOrEqual(20_000);
    } finally {
      await stop();
    }
  });
});

/**
 * A worker is woken by its jobs, not by its poll: each job here runs long before the worker's next poll (a
 * minute after it started) could have found it.
 */
describe.each(storeKinds())('workers woken by their jobs on %s', (kind) => {
  const POLL_SECONDS = 60;
  const BEFORE_ANY_POLL_MS = 20_000;
  let t: TestApp;
  const ran: { tag: string; at: number }[] = [];
  const failOnce = new Set<string>();
  const hasRun = (tag: string) => ran.some((r) => r.tag === tag);
  beforeAll(async () => {
    t = await createTestApp(kind, {}, { work: true });
    await t.ctx.queue.work<{ tag: string }>(
      'deadlines.check',
      { pollingIntervalSeconds: POLL_SECONDS, batchSize: 1 },
      async (jobs) => {
        for (const job of jobs) {
          if (failOnce.delete(job.data.tag)) throw new Error('fails once');
          ran.push({ tag: job.data.tag, at: Date.now() });
        }
      },
    );
  });
  afterAll(async () => t?.close());

  it('runs a job sent with startAfter when it becomes due', async () => {
    const sent = Date.now();
    await t.ctx.queue.send(t.ctx.database.db, 'deadlines.check', { tag: 'later' }, { startAfter: 2 });
    await waitFor(() => hasRun('later'), BEFORE_ANY_POLL_MS, 'the deferred job');
    expect(ran.find((r) => r.tag === 'later')!.at - sent).toBeGreaterThanOrEqual(1_900);
  });

  it('retries a failed job after its delay', async () => {
    failOnce.add('flaky');
    await t.ctx.queue.send(
      t.ctx.database.db,
      'deadlines.check',
      { tag: 'flaky' },
      { retryLimit: 2, retryDelay: 1 },
    );
    await waitFor(() => hasRun('flaky'), BEFORE_ANY_POLL_MS, 'the retried job');
    expect(failOnce.has('flaky')).toBe(false);
  });

  it('works through a backlog one job after the other, one notification for all', async () => {
    const tags = Array.from({ length: 15 }, (_, i) => `backlog-${i}`);
    await t.ctx.database.db.transaction().execute((tx) =>
      t.ctx.queue.batch(tx, async () => {
        for (const tag of tags) await t.ctx.queue.send(tx, 'deadlines.check', { tag });
      }),
    );
    await waitFor(() => tags.every(hasRun), BEFORE_ANY_POLL_MS, 'the backlog');
  });
});

/** PostgreSQL: a notification sent while the listening connection was down is lost; the waker catches up. */
describe.each(storeKinds().filter((k) => k === 'postgres'))('a lost listening connection on %s', (kind) => {
  const ran: string[] = [];
  const hasRun = (tag: string) => ran.includes(tag);
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, {}, { work: true });
    await t.ctx.queue.work<{ tag: string }>(
      'deadlines.check',
      { pollingIntervalSeconds: 60, batchSize: 1 },
      async (jobs) => {
        for (const job of jobs) ran.push(job.data.tag);
      },
    );
  });
  afterAll(async () => t?.close());

  it('catches up on a job committed while the listening connection was lost', async () => {
    const db = t.ctx.database.db;
    const listeners = async () =>
      Number(
        (
          await sql<{ n: string }>`select count(*) as n from pg_stat_activity
              where application_name = 'flowguard-listen' and datname = current_database()`.execute(db)
        ).rows[0]?.n,
      );
    // The job must commit while nobody listens (the connection comes back a second after it was lost).
    let unheard: string | undefined;
    for (let attempt = 0; attempt < 5 && !unheard; attempt++) {
      await waitFor(async () => (await listeners()) === 1, 10_000, 'the listening connection');
      await sql`select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'flowguard-listen' and datname = current_database()`.execute(db);
      await waitFor(async () => (await listeners()) === 0, 2_000, 'the connection to end');
      const tag = `unheard-${attempt}`;
      const nobodyListened = await db.transaction().execute(async (tx) => {
        await t.ctx.queue.send(tx, 'deadlines.check', { tag });
        return (await listeners()) === 0;
      });
      if (nobodyListened) unheard = tag;
      else await waitFor(() => hasRun(tag), 20_000, 'a job');
    }
    expect(unheard).toBeDefined();
    await waitFor(() => hasRun(unheard!), 20_000, 'the job committed unheard');
  });
});

/**
 * A worker polls at its own interval only while its notifications do not arrive. Each queue here is a second
 * queue process on the test app's store, whose statements are counted: `deliver: false` is a listening
 * connection that never passes anything on (a pooler in transaction mode does that to LISTEN).
 */
describe.each(storeKinds())('worker polling on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(async () => t?.close());

  async function queueCounting(deliver: boolean) {
    const fetches = { n: 0 };
    const real = t.ctx.database;
    const database: Database = {
      ...real,
      sql: {
        executeSql: (text, values) => {
          if (/^\s*with next as/i.test(text)) fetches.n += 1;
          return real.sql.executeSql(text, values);
        },
      },
      listen: deliver ? real.listen : async () => async () => {},
    };
    const queue = createQueue(database, t.ctx.logger, { work: true });
    await queue.start();
    const ran: string[] = [];
    await queue.work<{ tag: string }>('datamap.selfcheck', { pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const job of jobs) ran.push(job.data.tag);
    });
    return { queue, fetches, ran };
  }

  it('polls only as the safety net while notifications arrive', async () => {
    const { queue, fetches, ran } = await queueCounting(true);
    try {
      await waitFor(() => queue.notificationsArrive, 5_000, 'the first heartbeat');
      const before = fetches.n;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(fetches.n - before).toBeLessThanOrEqual(1);
      await queue.send(t.ctx.database.db, 'datamap.selfcheck', { tag: 'woken' });
      await waitFor(() => ran.includes('woken'), 10_000, 'the job');
    } finally {
      await queue.stop();
    }
  });

  it('polls at its own interval while notifications do not arrive', async () => {
    const { queue, fetches, ran } = await queueCounting(false);
    try {
      const before = fetches.n;
      await new Promise((r) => setTimeout(r, 3_000));
      expect(fetches.n - before).toBeGreaterThanOrEqual(3);
      expect(queue.notificationsArrive).toBe(false);
      await t.ctx.queue.send(t.ctx.database.db, 'datamap.selfcheck', { tag: 'polled' });
      await waitFor(() => ran.includes('polled'), 10_000, 'the job');
    } finally {
      await queue.stop();
    }
  });
});
