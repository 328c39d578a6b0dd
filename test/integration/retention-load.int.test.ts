import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetention } from '../../src/modules/retention/index.js';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import { contact, delivery, phoneOf, postWebhook, textMessage } from '../helpers/webhook-payloads.js';

const ROWS = 50_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * A sweep of a large table (50,000 expired flow responses) while signed webhooks keep arriving: every webhook
 * is answered 200 and nothing fails. Rows/s swept and ingest latency with and without the sweep are printed
 * (numbers for the report, not asserted: this is a shared 2-core machine).
 */
describe.each(storeKinds())('a retention sweep under ingest load on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { FLOWGUARD_LOG_LEVEL: 'info' });
  });
  afterAll(async () => t?.close());

  const people = Array.from({ length: 8 }, () => fakePerson());
  let n = 0;
  async function oneWebhook(): Promise<{ status: number; ms: number }> {
    const p = people[n++ % people.length]!;
    const started = performance.now();
    const res = await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hi')] }));
    return { status: res.statusCode, ms: performance.now() - started };
  }

  it('sweeps 50,000 rows in bounded batches while every webhook is answered 200', async () => {
    const db = t.ctx.database.db;
    await oneWebhook();
    const subject = await t.ctx.subjects.find(db, 'default', [phoneOf(people[0]!)]);
    await sql`insert into flow_responses (id, tenant_id, subject_id, response, received_at)
      select gen_random_uuid(), 'default', ${subject}, 'v1.sealed', now() - interval '200 days'
      from generate_series(1, ${ROWS})`.execute(db);
    await sql`insert into flow_responses (id, tenant_id, subject_id, response, received_at)
      select gen_random_uuid(), 'default', ${subject}, 'v1.sealed', now() - interval '10 days'
      from generate_series(1, 100)`.execute(db);

    // The same two concurrent ingest loops, without a sweep.
    const baseline: number[] = [];
    const baselineLoop = async () => {
      for (let i = 0; i < 40; i++) {
        const r = await oneWebhook();
        expect(r.status).toBe(200);
        baseline.push(r.ms);
      }
    };
    await Promise.all([baselineLoop(), baselineLoop()]);

    let sweeping = true;
    const during: { status: number; ms: number }[] = [];
    const started = performance.now();
    const sweep = runRetention(t.ctx).finally(() => (sweeping = false));
    const ingestLoop = async () => {
      while (sweeping) during.push(await oneWebhook());
    };
    const [report] = await Promise.all([sweep, ingestLoop(), ingestLoop()]);
    const seconds = (performance.now() - started) / 1000;

    expect(report.status).toBe('done');
    expect(report.categories.flow_responses).toEqual({ expired: ROWS, deleted: ROWS });
    expect(during.length).toBeGreaterThan(0);
    expect(during.filter((r) => r.status !== 200)).toEqual([]);
    const left = await sql<{ n: string }>`select count(*)::text as n from flow_responses`.execute(db);
    expect(left.rows[0]?.n).toBe('100');
    expect(t.logs.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50)).toEqual([]);

    const ms = during.map((r) => r.ms);
    console.log(
      `[retention load, ${kind}] swept ${ROWS} rows in ${seconds.toFixed(2)} s (${Math.round(ROWS / seconds)} rows/s); ` +
        `ingest p50/p99 ${percentile(baseline, 50).toFixed(1)}/${percentile(baseline, 99).toFixed(1)} ms without the sweep, ` +
        `${percentile(ms, 50).toFixed(1)}/${percentile(ms, 99).toFixed(1)} ms during it (${during.length} webhooks, 2 concurrent loops)`,
    );
  });
});
