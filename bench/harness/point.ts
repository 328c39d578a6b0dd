import { median, round } from './stats.js';
import type { Point, RunMetrics } from './types.js';

/** Every metric of a run, in the report's order. */
export const RUN_METRICS: (keyof RunMetrics)[] = [
  'count',
  'errors',
  'seconds',
  'perSecond',
  'p50Ms',
  'p99Ms',
  'meanMs',
  'maxMs',
  'serverCpuSeconds',
  'clientCpuSeconds',
  'dbCpuSeconds',
  'serverPeakRssMb',
  'clientPeakRssMb',
];

/** Round every metric of a run for the report. */
export function roundRun(run: RunMetrics): RunMetrics {
  const out = { ...run };
  for (const k of RUN_METRICS) out[k] = round(run[k]);
  return out;
}

/** A point from its runs: the median of each metric separately (errors: the sum, so none is hidden). */
export function makePoint(label: string, params: Point['params'], runs: RunMetrics[]): Point {
  const med = {} as RunMetrics;
  for (const k of RUN_METRICS) med[k] = round(median(runs.map((r) => r[k])));
  med.errors = runs.reduce((n, r) => n + r.errors, 0);
  return { label, params, runs: runs.map(roundRun), median: med };
}
