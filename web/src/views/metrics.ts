import { api, type ComplianceSummary } from '../api.js';
import { gauge, lineChart } from '../chart.js';
import { h, setStatus } from '../dom.js';

const pct = (v: number) => `${Math.round(v * 100)}%`;
const dur = (v: number) =>
  v >= 3600 ? `${(v / 3600).toFixed(1)} h` : v >= 60 ? `${Math.round(v / 60)} min` : `${Math.round(v)} s`;

/** The compliance metrics over the last N days, as inline SVG charts. */
export async function metricsView(main: HTMLElement, params: URLSearchParams): Promise<void> {
  const days = Math.min(366, Math.max(1, Number(params.get('days') ?? 30) || 30));
  const m = await api<ComplianceSummary>('GET', `/metrics/summary?days=${days}`);
  const dates = m.per_day.map((d) => d.date);
  const totals = Object.entries(m.totals).map(([k, v]) =>
    h('div', { class: 'stat' }, h('span', {}, k), h('strong', {}, String(v))),
  );
  main.replaceChildren(
    h('h1', {}, `Compliance, last ${m.window_days} days`),
    h('div', { class: 'stats' }, ...totals),
    h(
      'div',
      { class: 'charts' },
      lineChart(
        'Requests per day',
        dates,
        [
          { name: 'received', values: m.per_day.map((d) => d.received), cls: 's1' },
          { name: 'completed', values: m.per_day.map((d) => d.completed), cls: 's2' },
          { name: 'failed', values: m.per_day.map((d) => d.failed), cls: 's3' },
        ],
        (v) => String(Math.round(v)),
      ),
      lineChart(
        'Completion rate',
        dates,
        [{ name: 'completion rate', values: m.per_day.map((d) => d.completion_rate), cls: 's2' }],
        pct,
      ),
      lineChart(
        'Deletion latency',
        dates,
        [
          { name: 'p50', values: m.per_day.map((d) => d.deletion_p50_seconds), cls: 's1' },
          { name: 'p99', values: m.per_day.map((d) => d.deletion_p99_seconds), cls: 's3' },
        ],
        dur,
      ),
      gauge('Trust coefficient (all time)', m.trust_coefficient),
    ),
    h(
      'p',
      {},
      `All time: completion rate ${m.completion_rate === null ? '—' : pct(m.completion_rate)}, deletion latency p50 ${m.deletion_latency_seconds.p50 === null ? '—' : dur(m.deletion_latency_seconds.p50)}, p99 ${m.deletion_latency_seconds.p99 === null ? '—' : dur(m.deletion_latency_seconds.p99)} (${m.deletion_latency_seconds.count} erasures).`,
    ),
  );
  setStatus('Metrics loaded.');
}
