import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobClaims, type JobClaims } from '../../src/jobs/job-claims.js';
import { createTestApp, hasService, type TestApp } from '../helpers/test-app.js';

/**
 * On PostgreSQL a live instance fails the claimed jobs of an instance whose lock is free (its process is gone),
 * and leaves alone those of instances that still hold theirs. The killed-process case, with real `flowguard
 * worker` processes and SIGKILL, is in scale-out.int.test.ts.
 */
describe.runIf(hasService('postgres'))('job claims of stopped instances on PostgreSQL', () => {
  let t: TestApp;
  let a: JobClaims;
  let b: JobClaims;
  const QUEUE = 'media.fetch';
  beforeAll(async () => {
    t = await createTestApp('postgres');
    await t.ctx.queue.start();
    a = createJobClaims(t.ctx.database, t.ctx.queue.boss, t.ctx.logger);
    b = createJobClaims(t.ctx.database, t.ctx.queue.boss, t.ctx.logger);
    await a.start();
    await b.start();
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await t?.close();
  });

  /** A job taken by a worker (active), its id. */
  async function activeJob(): Promise<string> {
    await t.ctx.queue.send(t.ctx.database.db, QUEUE, { mediaRowId: crypto.randomUUID() });
    const [job] = await t.ctx.queue.boss.fetch(QUEUE);
    expect(job).toBeDefined();
    return job!.id;
  }
  const stateOf = async (id: string) =>
    (
      await sql<{ state: string }>`select state from pgboss.job where id = ${id}::uuid`.execute(
        t.ctx.database.db,
      )
    ).rows[0]?.state;

  it('holds a claim while the job runs and removes it after, whether the job succeeds or throws', async () => {
    const id = await activeJob();
    const claimed = await b.run(QUEUE, id, async () =>
      t.ctx.database.db.selectFrom('job_claims').selectAll().where('job_id', '=', id).execute(),
    );
    expect(claimed).toMatchObject([{ job_id: id, queue: QUEUE, instance: b.instance }]);
    await expect(b.run(QUEUE, id, () => Promise.reject(new Error('the system is down')))).rejects.toThrow(
      'the system is down',
    );
    expect(await t.ctx.database.db.selectFrom('job_claims').selectAll().execute()).toEqual([]);
  });

  it('fails every active job of a dead instance at once, only as the queue its claim names', async () => {
    const [first, second, misnamed] = [await activeJob(), await activeJob(), await activeJob()];
    const dead = 434_343;
    await t.ctx.database.db
      .insertInto('job_claims')
      .values([
        { job_id: first, queue: QUEUE, instance: dead },
        { job_id: second, queue: QUEUE, instance: dead },
        { job_id: misnamed, queue: 'connector.run', instance: dead },
      ])
      .execute();
    expect(await a.reap()).toBe(2);
    expect(await stateOf(first)).toBe('retry');
    expect(await stateOf(second)).toBe('retry');
    expect(await stateOf(misnamed)).toBe('active');
    expect(await t.ctx.database.db.selectFrom('job_claims').selectAll().execute()).toEqual([]);
    await t.ctx.queue.boss.complete(QUEUE, misnamed);
  });

  it("fails a dead instance's active jobs for a retry and keeps a live instance's", async () => {
    const [orphan, finished, held] = [await activeJob(), await activeJob(), await activeJob()];
    await t.ctx.queue.boss.complete(QUEUE, finished);
    const dead = 424_242; // no session holds its lock
    await t.ctx.database.db
      .insertInto('job_claims')
      .values([
        { job_id: orphan, queue: QUEUE, instance: dead },
        { job_id: finished, queue: QUEUE, instance: dead },
        { job_id: held, queue: QUEUE, instance: b.instance },
      ])
      .execute();
    expect(await a.reap()).toBe(1);
    expect(await stateOf(orphan)).toBe('retry');
    expect(await stateOf(finished)).toBe('completed');
    expect(await stateOf(held)).toBe('active');
    const left = await t.ctx.database.db.selectFrom('job_claims').select(['job_id', 'instance']).execute();
    expect(left).toEqual([{ job_id: held, instance: b.instance }]);

    // b stops (its lock goes with it): a fails b's job next time it looks.
    await b.stop();
    expect(await a.reap()).toBe(1);
    expect(await stateOf(held)).toBe('retry');
    expect(await t.ctx.database.db.selectFrom('job_claims').selectAll().execute()).toEqual([]);
  });
});
