import type { IngestDeps, Outcome } from './ingest-deps.js';

export type IngestReport = Record<Outcome, number>;

/** Events counted by type and outcome: the POST's answer, the metrics and the log line. */
export class Tally {
  private readonly counts = new Map<string, { type: string; outcome: Outcome; n: number }>();

  add(type: string, outcome: Outcome, n = 1): void {
    const k = `${type}\u0000${outcome}`;
    const entry = this.counts.get(k) ?? { type, outcome, n: 0 };
    entry.n += n;
    this.counts.set(k, entry);
  }

  merge(other: Tally): void {
    for (const { type, outcome, n } of other.counts.values()) this.add(type, outcome, n);
  }

  apply(metrics: IngestDeps['metrics']): void {
    for (const { type, outcome, n } of this.counts.values()) metrics.webhookEvents.inc({ type, outcome }, n);
  }

  report(): IngestReport {
    const r: IngestReport = { ingested: 0, duplicate: 0, rejected: 0, ignored: 0 };
    for (const { outcome, n } of this.counts.values()) r[outcome] += n;
    return r;
  }
}
