import type { MachineInfo } from './machine.js';

/** The JSON written to bench/results/<timestamp>.json. Bump RESULT_VERSION when the shape changes. */
export const RESULT_VERSION = 1;

/** One measured run of one configuration. */
export interface RunMetrics {
  /** Operations completed (HTTP requests answered, erasures done, ...). */
  count: number;
  /** Operations that failed (transport errors, unexpected status codes). */
  errors: number;
  seconds: number;
  /** Throughput of the run: count / seconds. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** CPU seconds of the flowguard server process (0 when the scenario runs flowguard in the harness itself). */
  serverCpuSeconds: number;
  /** CPU seconds of the harness process (load generator, or flowguard itself for in-process scenarios). */
  clientCpuSeconds: number;
  /** CPU seconds of every PostgreSQL process on the machine during the run (0 for the embedded store). */
  dbCpuSeconds: number;
  serverPeakRssMb: number;
  clientPeakRssMb: number;
}

/** One configuration (store, concurrency, size...) measured `runs.length` times; `median` is per metric. */
export interface Point {
  label: string;
  params: Record<string, string | number>;
  runs: RunMetrics[];
  median: RunMetrics;
}

export interface Goal {
  name: string;
  target: string;
  actual: string;
  met: boolean;
}

/** A figure measured in the same run for comparison (the RSA limit, the raw-SQL floor...). */
export interface Reference {
  label: string;
  value: number;
  unit: string;
}

/** Lines drawn on the scenario's charts (a goal, a limit). */
export interface ChartMarkers {
  throughput?: { value: number; label: string } | undefined;
  p99?: { value: number; label: string } | undefined;
}

export type ScenarioStatus = 'ok' | 'skipped' | 'gap' | 'failed';

export interface ScenarioResult {
  id: string;
  title: string;
  status: ScenarioStatus;
  /** Why a scenario was skipped, failed or left a gap; or what to know about its figures. */
  notes: string[];
  points: Point[];
  references: Reference[];
  goals: Goal[];
  markers: ChartMarkers;
  seconds: number;
}

export interface BenchResult {
  version: typeof RESULT_VERSION;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: { tiny: boolean; runs: number; sizes: number[]; scenarios: string[] };
  scenarios: ScenarioResult[];
}
