import fs from 'node:fs';
import path from 'node:path';
import { barChart } from './svg.js';
import type { BenchResult, ScenarioResult } from './types.js';

/** The Markdown report (latest.md) and its SVG charts, next to the JSON results. */

const STATUS: Record<ScenarioResult['status'], string> = {
  ok: 'measured',
  skipped: 'skipped',
  gap: 'GAP (not measured)',
  failed: 'FAILED',
};

function chartFiles(s: ScenarioResult): { throughput: string; p99: string } {
  return { throughput: `latest-${s.id}-throughput.svg`, p99: `latest-${s.id}-p99.svg` };
}

function table(s: ScenarioResult): string[] {
  if (s.points.length === 0) return [];
  const lines = [
    '| configuration | ops/s | p50 ms | p99 ms | ops | errors | server CPU s | PostgreSQL CPU s | harness CPU s | server peak RSS MB | harness peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of s.points) {
    const m = p.median;
    lines.push(
      `| ${p.label} | ${m.perSecond} | ${m.p50Ms} | ${m.p99Ms} | ${m.count} | ${m.errors} | ${m.serverCpuSeconds} | ${m.dbCpuSeconds} | ${m.clientCpuSeconds} | ${m.serverPeakRssMb} | ${m.clientPeakRssMb} |`,
    );
  }
  return lines;
}

export function renderMarkdown(r: BenchResult): string {
  const m = r.machine;
  const out = [
    '# flowguard benchmark report',
    '',
    `Run ${r.startedAt} → ${r.finishedAt}${r.options.tiny ? ' (**tiny smoke sizes: the figures mean nothing**)' : ''}.`,
    '',
    `**Machine:** ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB RAM, ${m.platform} (kernel ${m.kernel}), Node ${m.node}${
      m.postgres ? `, PostgreSQL ${m.postgres}` : ''
    }; 1-min load average at start ${m.loadAverageAtStart}. Client and server share the machine (loopback).`,
    '',
    `Each point is the median of ${r.options.runs} measured run(s) after a warm-up; errors are summed over the runs. ` +
      'Server CPU is the flowguard process (from /proc), PostgreSQL CPU all `postgres` processes, harness CPU the ' +
      'load generator (or flowguard itself where a scenario drives the library in-process); peak RSS is VmHWM, reset before each run.',
    '',
  ];
  for (const s of r.scenarios) {
    out.push(`## ${s.title}`, '', `Status: ${STATUS[s.status]} (${Math.round(s.seconds)} s).`, '');
    out.push(...table(s));
    if (s.points.length) out.push('');
    if (s.references.length) {
      out.push(...s.references.map((ref) => `- ${ref.label}: **${ref.value}** ${ref.unit}`), '');
    }
    if (s.goals.length) {
      out.push('| goal | target | measured | met |', '|---|---|---|---|');
      out.push(
        ...s.goals.map((g) => `| ${g.name} | ${g.target} | ${g.actual} | ${g.met ? 'yes' : '**no**'} |`),
        '',
      );
    }
    if (s.notes.length) out.push(...s.notes.map((n) => `- ${n}`), '');
    if (s.points.length) {
      const f = chartFiles(s);
      out.push(`![${s.id} throughput](${f.throughput}) ![${s.id} p99](${f.p99})`, '');
    }
  }
  return `${out.join('\n')}\n`;
}

export function renderCharts(s: ScenarioResult): { file: string; svg: string }[] {
  if (s.points.length === 0) return [];
  const f = chartFiles(s);
  return [
    {
      file: f.throughput,
      svg: barChart({
        title: `${s.id}: throughput`,
        unit: '/s',
        bars: s.points.map((p) => ({ label: p.label, value: p.median.perSecond })),
        marker: s.markers.throughput,
      }),
    },
    {
      file: f.p99,
      svg: barChart({
        title: `${s.id}: p99 latency`,
        unit: 'ms',
        bars: s.points.map((p) => ({ label: p.label, value: p.median.p99Ms })),
        marker: s.markers.p99,
      }),
    },
  ];
}

/** Write <timestamp>.json, latest.json, latest.md and the charts; returns the JSON file's path. */
export function writeResults(r: BenchResult, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const json = path.join(dir, `${stamp}.json`);
  const text = `${JSON.stringify(r, null, 2)}\n`;
  fs.writeFileSync(json, text);
  fs.writeFileSync(path.join(dir, 'latest.json'), text);
  fs.writeFileSync(path.join(dir, 'latest.md'), renderMarkdown(r));
  for (const s of r.scenarios)
    for (const c of renderCharts(s)) fs.writeFileSync(path.join(dir, c.file), c.svg);
  return json;
}
