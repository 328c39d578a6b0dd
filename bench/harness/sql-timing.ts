import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/lib/db/schema.js';

/**
 * A Kysely handle on a PostgreSQL database that times every statement (Kysely's query log), to say where an
 * operation's time goes: statements grouped by their SQL text (values are bound parameters, so one text is one
 * kind of statement).
 */
export interface TimedDb {
  db: Kysely<DB>;
  /** Statements grouped by text since the last reset, slowest total first. */
  top(n: number): { sql: string; calls: number; totalMs: number }[];
  totals(): { calls: number; totalMs: number };
  reset(): void;
  close(): Promise<void>;
}

const shorten = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 90 ? `${flat.slice(0, 87)}...` : flat;
};

export function timedDb(url: string): TimedDb {
  const stats = new Map<string, { calls: number; totalMs: number }>();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log(event) {
      if (event.level !== 'query') return;
      const key = shorten(event.query.sql);
      const s = stats.get(key) ?? { calls: 0, totalMs: 0 };
      s.calls += 1;
      s.totalMs += event.queryDurationMillis;
      stats.set(key, s);
    },
  });
  return {
    db,
    top: (n) =>
      [...stats.entries()]
        .map(([sql, s]) => ({ sql, ...s }))
        .sort((a, b) => b.totalMs - a.totalMs)
        .slice(0, n),
    totals: () =>
      [...stats.values()].reduce((t, s) => ({ calls: t.calls + s.calls, totalMs: t.totalMs + s.totalMs }), {
        calls: 0,
        totalMs: 0,
      }),
    reset: () => stats.clear(),
    close: () => db.destroy(),
  };
}

/** "N statements, X ms in SQL per op; top: ..." for the report. */
export function describeTiming(t: TimedDb, ops: number, what: string, wallMsPerOp: number): string {
  const { calls, totalMs } = t.totals();
  const per = (v: number) => Math.round((v / ops) * 100) / 100;
  const top = t
    .top(5)
    .map(
      (s) =>
        `\`${s.sql}\` ${per(s.totalMs)} ms (${Math.round((s.totalMs / Math.max(totalMs, 1e-6)) * 100)}%, ${per(s.calls)}x)`,
    )
    .join('; ');
  return `${what}: ${per(calls)} statements and ${per(totalMs)} ms in SQL per operation (of ${Math.round(wallMsPerOp * 100) / 100} ms wall); the costliest: ${top}.`;
}
