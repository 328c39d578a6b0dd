// autocannon ships no types; its declarations live beside the harness, pulled in for every program that loads this.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../autocannon.d.ts" />
import autocannon from 'autocannon';
import { openWindow, type ProcWindow } from './proc.js';
import { summarize } from './stats.js';
import type { RunMetrics } from './types.js';

/** One pre-built HTTP request (bodies are unique per request: Flow calls are encrypted, webhooks carry ids). */
export interface PreparedRequest {
  body: string;
  headers: Record<string, string>;
}

export interface LoadOptions {
  baseUrl: string;
  path: string;
  /** Sent once each, in order, spread over the connections; the run ends when all are answered. */
  requests: PreparedRequest[] | { make: (i: number) => PreparedRequest; amount: number };
  /** End the run early when this settles (e.g. a concurrent job finished). */
  until?: Promise<unknown>;
  connections: number;
  /** The flowguard server's pid, for its CPU time and peak memory. */
  serverPid: number | undefined;
  expectStatus?: number;
}

/**
 * A closed-loop load run with autocannon: `connections` keep-alive connections, each sending its next request
 * as soon as the previous one is answered. Latencies are taken from autocannon's per-response event (its own
 * histogram has whole-millisecond resolution), throughput from the wall-clock time of the whole run.
 */
export async function loadRun(opts: LoadOptions): Promise<RunMetrics> {
  const expect = opts.expectStatus ?? 200;
  const pool = opts.requests;
  const amount = Array.isArray(pool) ? pool.length : pool.amount;
  const make = Array.isArray(pool) ? (i: number) => pool[i % amount]! : pool.make;
  const connections = Math.max(1, Math.min(opts.connections, amount));
  let next = 0;
  const latencies: number[] = [];
  let unexpected = 0;
  let last = 0n;
  let answered = 0;
  const window = openWindow(opts.serverPid);
  const start = process.hrtime.bigint();
  const instance = autocannon({
    url: opts.baseUrl,
    connections,
    amount,
    pipelining: 1,
    timeout: 30,
    excludeErrorStats: false,
    requests: [
      {
        method: 'POST',
        path: opts.path,
        setupRequest: (req) => {
          const r = make(next++);
          return { ...req, method: 'POST', path: opts.path, headers: r.headers, body: r.body };
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode === expect) latencies.push(responseTime);
    else unexpected += 1;
    last = process.hrtime.bigint();
    answered += 1;
    // autocannon notices the end of a fixed amount only on its 1-second tick: end the run at the last answer.
    if (answered === amount) instance.stop();
  });
  void opts.until?.finally(() => instance.stop());
  const result = await instance;
  const seconds = Number((last > start ? last : process.hrtime.bigint()) - start) / 1e9;
  return runMetrics(latencies, unexpected + result.errors + result.timeouts, seconds, window.stop());
}

/** Time `count` sequential async operations (one at a time) with the same CPU/memory probe. */
export async function sequentialRun(
  count: number,
  op: (i: number) => Promise<void>,
  serverPid?: number,
): Promise<RunMetrics> {
  const latencies: number[] = [];
  let errors = 0;
  const window = openWindow(serverPid);
  const start = process.hrtime.bigint();
  let firstError: unknown;
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    try {
      await op(i);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    } catch (err) {
      errors += 1;
      firstError ??= err;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (errors === count && firstError) throw firstError;
  return runMetrics(latencies, errors, seconds, window.stop());
}

/** A run's metrics from the latencies of its successes, its failures, its wall-clock time and the probe. */
function runMetrics(
  latencies: number[],
  errors: number,
  seconds: number,
  proc: ReturnType<ProcWindow['stop']>,
): RunMetrics {
  const s = summarize(latencies);
  return {
    count: latencies.length,
    errors,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    meanMs: s.meanMs,
    maxMs: s.maxMs,
    ...proc,
  };
}
