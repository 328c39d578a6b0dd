import { machineInfo } from './harness/machine.js';
import { disposeTemplates, postgresVersion, usePgliteDump } from './harness/store.js';
import { RESULT_VERSION, type BenchResult, type ScenarioResult } from './harness/types.js';
import { probeServices } from '../test/helpers/services.js';
import { scenarios } from './scenarios/index.js';
import type { ScenarioContext } from './scenarios/context.js';

export interface BenchOptions {
  tiny: boolean;
  runs: number;
  /** Erasure scenario store sizes (subjects). */
  sizes: number[];
  /** Scenario ids to run; all when empty. */
  only: string[];
  /** A migrated embedded-store dump (tar.gz) to start from, e.g. the test suite's template. */
  pgliteTemplate?: string | undefined;
  log?: (line: string) => void;
}

export const FULL_SIZES = [10_000, 100_000, 1_000_000];

/** Run the selected scenarios one after the other (never in parallel: they would measure each other). */
export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? (() => {});
  usePgliteDump(opts.pgliteTemplate);
  const services = await probeServices();
  const startedAt = new Date().toISOString();
  const machine = machineInfo(services.postgres ? await postgresVersion() : undefined);
  const ctx: ScenarioContext = { tiny: opts.tiny, runs: opts.runs, sizes: opts.sizes, services, log };
  const selected = scenarios.filter((s) => opts.only.length === 0 || opts.only.includes(s.id));
  const results: ScenarioResult[] = [];
  try {
    await runAll();
  } finally {
    await disposeTemplates();
  }
  return {
    version: RESULT_VERSION,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    options: { tiny: opts.tiny, runs: opts.runs, sizes: opts.sizes, scenarios: selected.map((s) => s.id) },
    scenarios: results,
  };

  async function runAll(): Promise<void> {
    for (const s of selected) {
      const base = {
        id: s.id,
        title: s.title,
        points: [],
        references: [],
        goals: [],
        markers: {},
        seconds: 0,
      };
      const gap = s.gap?.(ctx);
      if (gap) {
        log(`${s.id}: gap: ${gap}`);
        results.push({ ...base, status: 'gap', notes: [gap] });
        continue;
      }
      const unavailable = s.unavailable?.(ctx);
      if (unavailable) {
        log(`${s.id}: skipped: ${unavailable}`);
        results.push({ ...base, status: 'skipped', notes: [unavailable] });
        continue;
      }
      log(`${s.id}: ${s.title}`);
      const t0 = Date.now();
      try {
        const out = await s.run(ctx);
        results.push({
          ...base,
          status: 'ok',
          points: out.points,
          references: out.references ?? [],
          goals: out.goals ?? [],
          notes: out.notes ?? [],
          markers: out.markers ?? {},
          seconds: (Date.now() - t0) / 1000,
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`${s.id}: FAILED: ${message}`);
        results.push({
          ...base,
          status: 'failed',
          notes: [`failed: ${message}`],
          seconds: (Date.now() - t0) / 1000,
        });
      }
    }
  }
}
