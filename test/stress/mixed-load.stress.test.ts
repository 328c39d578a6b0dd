import { describe, expect, it } from 'vitest';
import { hasService } from '../helpers/test-app.js';
import { expectCleanRun, runMixedLoad } from '../helpers/mixed-load/run-mixed-load.js';

/**
 * Reliability (issue 7, item 6): 10 minutes of mixed traffic — signed webhooks for a growing population of
 * fake people, Privacy Center visits on the encrypted Flows endpoint, access exports, erasures in the Flow and
 * through the API — against a real `flowguard serve` on PostgreSQL with a PostgreSQL and a Redis system. No
 * call may fail (only the refusals the client provokes, each with its documented status), nothing flowguard
 * acknowledged may be lost, every erasure completes everywhere, and the server's heap stays flat.
 * FLOWGUARD_STRESS_MINUTES shortens or lengthens the run.
 */
const MINUTES = Number(process.env.FLOWGUARD_STRESS_MINUTES ?? 10);
if (!(MINUTES > 0)) throw new Error('FLOWGUARD_STRESS_MINUTES must be a positive number of minutes');
/** The last third's median heap may be at most this many times the first third's (after the warm-up). */
const HEAP_GROWTH_LIMIT = 1.5;

describe.runIf(hasService('postgres') && hasService('redis'))('mixed load', () => {
  it(`${MINUTES} minutes of mixed traffic: no errors, no lost writes, memory flat`, async () => {
    const durationMs = MINUTES * 60_000;
    const report = await runMixedLoad({
      durationMs,
      concurrency: 8,
      sampleEveryMs: 5_000,
      warmupMs: Math.min(60_000, durationMs / 10),
    });
    console.info(report.summary);
    console.info(JSON.stringify({ figures: report.figures, memory: report.memory }, null, 2));
    expectCleanRun(report);
    expect(report.store.erased).toBeGreaterThan(0);
    expect(report.memory.samples).toBeGreaterThanOrEqual(9);
    expect(report.memory.heapRatio).toBeLessThanOrEqual(HEAP_GROWTH_LIMIT);
  });
});
