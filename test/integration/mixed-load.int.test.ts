import { describe, expect, it } from 'vitest';
import { hasService } from '../helpers/test-app.js';
import { expectCleanRun, runMixedLoad } from '../helpers/mixed-load/run-mixed-load.js';

/**
 * The mixed-load harness of `npm run test:stress` (test/stress/mixed-load.stress.test.ts), for ~35 s with fewer
 * call sequences in flight, so `npm test` keeps it working: a real `flowguard serve` on PostgreSQL with a
 * PostgreSQL and a Redis system, webhooks, Privacy Center visits, access exports and erasures over HTTP. Every
 * call answers as documented and nothing flowguard acknowledged is lost; speed is not asserted, and the memory
 * figures are only reported (too short a run to tell a leak from warm-up).
 */
const KINDS = [
  'webhook',
  'webhook.redelivery',
  'webhook.confirm',
  'flows.ping',
  'flows.init',
  'flows.access',
  'flows.erase.submit',
  'api.request',
  'api.export',
];

describe.runIf(hasService('postgres') && hasService('redis'))('mixed load (short)', () => {
  it(
    '35 s of mixed traffic: no errors, no lost writes, every erasure complete',
    { timeout: 240_000 },
    async () => {
      const report = await runMixedLoad({
        durationMs: 35_000,
        concurrency: 4,
        sampleEveryMs: 2_000,
        warmupMs: 5_000,
      });
      console.info(report.summary);
      expectCleanRun(report);
      expect(report.memory.samples).toBeGreaterThan(3);
      // Every kind of traffic ran (the first worker starts with each once), and the checks had work to do.
      const kinds = new Set(report.figures.map((f) => f.kind));
      for (const kind of KINDS) expect(kinds).toContain(kind);
      expect(report.expectedRefusals['bad-signature (401)']).toBeGreaterThan(0);
      expect(report.expectedRefusals['used flow token (427)']).toBeGreaterThan(0);
      expect(report.store.erased).toBeGreaterThanOrEqual(2);
      expect(report.store.messages).toBeGreaterThan(0);
    },
  );
});
