import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { LogCapture } from '../test-app.js';

/**
 * A fast in-process fuzzer for flowguard's HTTP endpoints: fast-check generates cases, `app.inject` sends them
 * (no sockets), and each case carries the status code the documentation gives for that input. A case fails on
 * any other status (a 5xx included), on an error body that is not JSON, or on its own extra check. The
 * executions are counted, so a run that silently does less than asked fails too.
 */

/** Cases per endpoint. Tune the generators for speed, never this number. */
export const FUZZ_RUNS = 10_000;

export interface FuzzCase {
  /** What the generator made (`signed:not-json`), for the report and failure messages. */
  label: string;
  request: InjectOptions;
  /** The documented statuses for this input: usually exactly one. */
  expect: readonly number[];
  /** Further checks of the answer (throw to fail). */
  check?: (res: LightMyRequestResponse) => void;
}

export interface FuzzReport {
  endpoint: string;
  runs: number;
  seconds: number;
  /** CPU time of this process (user + system): comparable between a busy and an idle machine. */
  cpuSeconds: number;
  statuses: Record<string, number>;
  labels: Record<string, number>;
  /** Milliseconds spent answering each label (generation excluded): where to tune the generators. */
  labelMs: Record<string, number>;
}

/** Headers as generated: undefined means "not sent"; an array means the header was sent more than once. */
export type FuzzHeaders = Record<string, string | string[] | undefined>;

/** Content types that are not a media type at all: fastify answers 415 before any route runs. */
const MALFORMED_TYPES = new Set(['x', 'application/']);

/**
 * A POST case. A malformed Content-Type overrides what the route would say: 415, whatever the body.
 */
export function postCase(
  url: string,
  label: string,
  payload: string | Buffer,
  headers: FuzzHeaders,
  expect: readonly number[],
  check?: FuzzCase['check'],
): FuzzCase {
  const sent = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | string[]
  >;
  const type = headers['content-type'];
  if (typeof type === 'string' && MALFORMED_TYPES.has(type)) {
    return {
      label: `${label}:malformed-type`,
      request: { method: 'POST', url, payload, headers: sent },
      expect: [415],
      check: (res) => {
        if (res.json<{ error: { code: string } }>().error.code !== 'UNSUPPORTED_MEDIA_TYPE')
          throw new Error('415 code');
      },
    };
  }
  return {
    label,
    request: { method: 'POST', url, payload, headers: sent },
    expect,
    ...(check ? { check } : {}),
  };
}

function bump(counts: Record<string, number>, key: string | number): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Error answers are JSON objects: `{error: {...}}` or the Flows endpoint's `{error_msg}`. */
function checkErrorBody(res: LightMyRequestResponse): void {
  if (res.statusCode < 400) return;
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) throw new Error(`error answer is ${type || 'untyped'}, not JSON`);
  const body = JSON.parse(res.body) as unknown;
  if (typeof body !== 'object' || body === null || !('error' in body || 'error_msg' in body)) {
    throw new Error('error answer has neither error nor error_msg');
  }
}

/** Run `runs` cases against the app; returns what was seen. Throws (with fast-check's seed) on the first failure. */
export async function fuzzEndpoint(
  app: FastifyInstance,
  endpoint: string,
  cases: fc.Arbitrary<FuzzCase>,
  runs: number = FUZZ_RUNS,
): Promise<FuzzReport> {
  const report: FuzzReport = {
    endpoint,
    runs: 0,
    seconds: 0,
    cpuSeconds: 0,
    statuses: {},
    labels: {},
    labelMs: {},
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      report.runs += 1;
      const before = performance.now();
      const res = await app.inject(c.request);
      report.labelMs[c.label] = (report.labelMs[c.label] ?? 0) + performance.now() - before;
      bump(report.statuses, res.statusCode);
      bump(report.labels, c.label);
      if (!c.expect.includes(res.statusCode)) {
        throw new Error(
          `${endpoint} [${c.label}]: answered ${res.statusCode}, documented ${c.expect.join(' or ')}; body ${res.body.slice(0, 300)}`,
        );
      }
      checkErrorBody(res);
      c.check?.(res);
    }),
    { numRuns: runs },
  );
  report.seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  report.cpuSeconds = (used.user + used.system) / 1e6;
  return report;
}

/** Log lines at error level or above (pino level >= 50) since `from`: a fuzzed input must never cause one. */
export function errorLogLines(logs: LogCapture, from = 0): string[] {
  return logs.lines.slice(from).filter((line) => {
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50;
    } catch {
      return true;
    }
  });
}

/** One line per endpoint for the test output: runs, time, statuses seen. */
export function formatReport(r: FuzzReport): string {
  const statuses = Object.entries(r.statuses)
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  const perCase = (s: number) => ((s * 1000) / r.runs).toFixed(2);
  const costly = Object.entries(r.labelMs)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([label, ms]) => `${label} ${r.labels[label]}× ${(ms / 1000).toFixed(1)} s`)
    .join(', ');
  return `[fuzz] ${r.endpoint}: ${r.runs} cases in ${r.seconds.toFixed(1)} s, ${r.cpuSeconds.toFixed(1)} s CPU (${perCase(r.seconds)} ms, ${perCase(r.cpuSeconds)} ms CPU per case) ${statuses}; slowest: ${costly}`;
}
