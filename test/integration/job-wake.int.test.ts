import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_CHANNEL } from '../../src/jobs/wake-on-commit.js';
import { createTestApp, storeKinds, type TestApp } from '../helpers/test-app.js';

/**
 * Jobs wake workers when their transaction commits: the job table's trigger NOTIFYs the queue name, which
 * PostgreSQL delivers at commit only. A rolled-back enqueue must notify nobody.
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
    } finally {
      await stop();
    }
  });
});
