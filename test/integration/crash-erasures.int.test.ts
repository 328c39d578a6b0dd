import { describe, expect, it } from 'vitest';
import { runCrashLoop } from '../helpers/crash-loop/crash-loop.js';
import { hasService } from '../helpers/test-app.js';

/**
 * Crash (issue 7, reliability 1), small size: `flowguard serve` on PostgreSQL is SIGKILLed at random moments
 * during a stream of 30 erasures (Privacy Center Flow, Flow completion webhook, API + WhatsApp confirmation)
 * across PostgreSQL, MariaDB, Redis and an http system, then restarted; clients retry as Meta and the business
 * would. After every kill the store must hold each person wholly or not at all, with every request's work
 * queued; at the end every request completed, nobody is left anywhere, and the audit chain verifies.
 * The full size (200 erasures, more kills, both stores) is test/stress/crash-erasures.stress.test.ts.
 */
const everything = hasService('postgres') && hasService('mariadb') && hasService('redis');

describe.runIf(everything)('crash: SIGKILL during a stream of erasures', () => {
  it('loses no accepted request and never leaves a person partly erased (30 erasures, 2 kills)', async () => {
    const report = await runCrashLoop({
      store: 'postgres',
      erasures: 30,
      controls: 3,
      kills: 1,
      tailKill: true,
      concurrency: 4,
      eraseMs: 150,
      expireInSeconds: 6,
      timeoutMs: 150_000, // a cap for a loaded machine (each start takes seconds there)
    });
    console.info(
      `crash loop (postgres, small): ${JSON.stringify({ ...report, faults: report.faults.length })}`,
    );
    expect(report.faults).toEqual([]);
    expect(report.requests).toBe(30);
    expect(report.restarts).toBe(2);
    // Some calls were sent while the server was down: refused, then sent again.
    expect(report.client.refused).toBeGreaterThan(0);
    expect(report.auditRows).toBeGreaterThan(0);
  }, 180_000);
});
