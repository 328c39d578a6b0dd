import { describe, expect, it } from 'vitest';
import { runCrashLoop } from '../helpers/crash-loop/crash-loop.js';
import { hasService } from '../helpers/test-app.js';

/**
 * Crash (issue 7, reliability 1), full size: `flowguard serve` is SIGKILLed at random moments during a stream of
 * 200 erasures across PostgreSQL, MariaDB, Redis and an http system, restarted, and killed again; on PostgreSQL
 * and on the embedded store (whose files, lock and key store must survive a kill). Invariants: see
 * test/helpers/crash-loop/crash-checks.ts. `npm run test:stress`.
 */
const everything = hasService('postgres') && hasService('mariadb') && hasService('redis');

describe.runIf(everything).each(['postgres', 'pglite'] as const)('crash loop on %s', (store) => {
  it('200 erasures, 6 kills: no request lost, nobody partly erased, the audit chain verifies', async () => {
    const report = await runCrashLoop({
      store,
      erasures: 200,
      controls: 10,
      kills: 5,
      tailKill: true,
      concurrency: 6,
      eraseMs: 200,
      // PostgreSQL waits out a killed server's job expiry (other instances may hold jobs); the embedded store
      // knows it is alone and keeps the default.
      expireInSeconds: store === 'postgres' ? 10 : undefined,
      timeoutMs: 25 * 60_000,
    });
    console.info(
      `crash loop (${store}, full): ${JSON.stringify({ ...report, faults: report.faults.length })}`,
    );
    expect(report.faults).toEqual([]);
    expect(report.requests).toBe(200);
    expect(report.restarts).toBe(6);
    expect(report.client.refused).toBeGreaterThan(0);
    expect(report.auditRows).toBeGreaterThan(0);
  });
});
