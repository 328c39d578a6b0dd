import type { StoreKind } from '../harness/store.js';
import type { ChartMarkers, Goal, Point, Reference } from '../harness/types.js';

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  /** Tiny sizes for the smoke test: the harness must run end to end, the figures mean nothing. */
  tiny: boolean;
  /** Measured runs per point (the report shows the median). */
  runs: number;
  /** Store sizes for the erasure scenario (subjects). */
  sizes: number[];
  /** Services reachable on loopback. */
  services: { postgres: boolean; mariadb: boolean; redis: boolean };
  log(line: string): void;
}

/** What a scenario returns; the runner adds id, title, status and timing. */
export interface ScenarioOutput {
  points: Point[];
  references?: Reference[];
  goals?: Goal[];
  notes?: string[];
  markers?: ChartMarkers;
}

export interface Scenario {
  id: string;
  title: string;
  /** Why it cannot run here (a service missing), or undefined. */
  unavailable?(ctx: ScenarioContext): string | undefined;
  /** A scenario that is not built yet reports a gap instead of figures. */
  gap?(ctx: ScenarioContext): string | undefined;
  run(ctx: ScenarioContext): Promise<ScenarioOutput>;
}

export function goal(name: string, target: string, actual: string, met: boolean): Goal {
  return { name, target, actual, met };
}

/** The store a PostgreSQL-sized scenario measures: PostgreSQL, or PGlite at the smoke test's tiny sizes. */
export function postgresUnlessTiny(ctx: ScenarioContext): StoreKind {
  return ctx.tiny ? 'pglite' : 'postgres';
}

/** `unavailable` of a scenario measured on PostgreSQL only (the smoke test runs it on PGlite instead). */
export function withoutPostgres(ctx: ScenarioContext): string | undefined {
  return !ctx.tiny && !ctx.services.postgres ? 'needs PostgreSQL on 127.0.0.1:5432' : undefined;
}

/** The stores a scenario compares: PGlite, and PostgreSQL too when the machine has it (not at tiny sizes). */
export function storeKinds(ctx: ScenarioContext): StoreKind[] {
  return !ctx.tiny && ctx.services.postgres ? ['pglite', 'postgres'] : ['pglite'];
}
