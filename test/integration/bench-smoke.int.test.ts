import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RUN_METRICS } from '../../bench/harness/point.js';
import { writeResults } from '../../bench/harness/report.js';
import type { BenchResult, Point } from '../../bench/harness/types.js';
import { runBench } from '../../bench/runner.js';
import { scenarios } from '../../bench/scenarios/index.js';
import { hasService } from '../helpers/test-app.js';

/**
 * The benchmark harness at tiny sizes (20 requests per point, 300 subjects, 2,000 expired rows, PGlite): every scenario runs
 * end to end against a spawned `flowguard serve` or the library, and the report is written. The figures mean
 * nothing here; the point is that `npm run bench` never rots.
 */

function expectMeasured(p: Point): void {
  expect(p.label).toMatch(/\S/);
  expect(p.runs.length).toBeGreaterThan(0);
  // The retention sweep's point is a rate (rows/s), without latencies.
  const rateOnly = p.params.phase === 'sweep';
  for (const run of [...p.runs, p.median]) {
    for (const k of RUN_METRICS) expect(typeof run[k], `${p.label}: ${k}`).toBe('number');
    expect(run.errors, `${p.label}: errors`).toBe(0);
    expect(run.count, `${p.label}: count`).toBeGreaterThan(0);
    expect(run.perSecond, `${p.label}: perSecond`).toBeGreaterThan(0);
    if (!rateOnly) expect(run.p50Ms, `${p.label}: p50`).toBeGreaterThan(0);
    expect(run.p99Ms, `${p.label}: p99`).toBeGreaterThanOrEqual(run.p50Ms);
    expect(run.clientCpuSeconds, `${p.label}: harness CPU`).toBeGreaterThan(0);
    expect(run.clientPeakRssMb, `${p.label}: harness RSS`).toBeGreaterThan(0);
  }
}

describe('benchmark harness at tiny sizes', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-bench-smoke-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('runs every scenario and writes the JSON results, the Markdown report and SVG charts', async () => {
    const result = await runBench({
      tiny: true,
      runs: 1,
      sizes: [300],
      only: [],
      pgliteTemplate: inject('pgliteTemplate'),
    });
    const file = writeResults(result, out);

    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResult;
    expect(saved).toEqual(result);
    expect(saved.version).toBe(1);
    expect(saved.machine.cores).toBeGreaterThan(0);
    expect(saved.machine.memoryGb).toBeGreaterThan(0);
    expect(saved.machine.cpuModel).toMatch(/\S/);
    expect(saved.machine.node).toBe(process.version);
    expect(saved.scenarios.map((s) => s.id)).toEqual(scenarios.map((s) => s.id));

    const needsServices = hasService('postgres') && hasService('mariadb') && hasService('redis');
    for (const s of saved.scenarios) {
      if (s.id === 'e2e-erasure' && !needsServices) {
        expect(s.status).toBe('skipped');
        continue;
      }
      expect(s.status, `${s.id}: ${s.notes.join(' ')}`).toBe('ok');
      expect(s.points.length, s.id).toBeGreaterThan(0);
      for (const p of s.points) expectMeasured(p);
      for (const g of s.goals) expect(typeof g.met).toBe('boolean');
      // A spawned server reports its own CPU and memory.
      if (s.id !== 'erasure')
        for (const p of s.points) expect(p.median.serverPeakRssMb, p.label).toBeGreaterThan(0);
    }
    const flows = saved.scenarios.find((s) => s.id === 'flows')!;
    expect(flows.points.map((p) => p.params.connections)).toEqual([1, 8, 32, 1, 8, 32]);
    expect(flows.references[0]?.value).toBeGreaterThan(0);
    // The server's CPU while idle, for each store (a share of one core: 0 is possible in the tiny window).
    const idle = flows.references.filter((r) =>
      /^idle flowguard serve \((pglite|postgres)\): server CPU/.test(r.label),
    );
    expect(idle.length).toBe(flows.points.length / 6);
    for (const r of idle) expect(r.value).toBeGreaterThanOrEqual(0);
    // Each c=32 point is held against the RSA limit measured next to its runs.
    const adjacent = flows.references.filter((r) => r.label.includes('next to the runs of'));
    expect(adjacent.map((r) => r.label.replace(/.*runs of /, '').replace(/ \(median\)$/, ''))).toEqual(
      flows.points.filter((p) => p.params.connections === 32).map((p) => p.label),
    );
    for (const r of adjacent) expect(r.value).toBeGreaterThan(0);
    const shares = flows.goals.filter((g) => g.name.endsWith('throughput vs RSA limit'));
    expect(shares.length).toBe(adjacent.length);
    for (const g of shares) expect(g.actual).toMatch(/^\d+% \(median run: [\d.]+ of \d+\/s\)$/);
    const erasure = saved.scenarios.find((s) => s.id === 'erasure')!;
    expect(erasure.points.map((p) => p.params.via)).toEqual(['library', 'sql']);
    const retention = saved.scenarios.find((s) => s.id === 'retention')!;
    expect(retention.points.map((p) => p.params.phase)).toEqual(['baseline', 'during', 'sweep']);
    expect(retention.points[2]!.median.count).toBeGreaterThanOrEqual(2000);

    const md = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
    expect(md).toContain(saved.machine.cpuModel);
    for (const s of saved.scenarios) expect(md).toContain(s.title);
    const svg = fs.readFileSync(path.join(out, 'latest-flows-throughput.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('ping c=32');
    expect(fs.existsSync(path.join(out, 'latest-webhooks-p99.svg'))).toBe(true);
  }, 240_000);
});
