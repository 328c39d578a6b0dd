/**
 * What the mixed-load client saw: every HTTP call's latency by kind, the calls that failed (an unexpected status
 * or answer), the refusals it provoked on purpose (with the status each must get), and the broken promises
 * found when checking (lost writes).
 */

export interface KindFigures {
  kind: string;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Failure {
  kind: string;
  detail: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export class LoadStats {
  private readonly latencies = new Map<string, number[]>();
  readonly errors: Failure[] = [];
  readonly lostWrites: Failure[] = [];
  /** Refusals the client asked for (bad signature, a used flow token), by kind: how many got the right status. */
  readonly expectedRefusals = new Map<string, number>();

  record(kind: string, ms: number): void {
    let list = this.latencies.get(kind);
    if (!list) this.latencies.set(kind, (list = []));
    list.push(ms);
  }

  error(kind: string, detail: string): void {
    this.errors.push({ kind, detail });
  }

  lost(kind: string, detail: string): void {
    this.lostWrites.push({ kind, detail });
  }

  refused(kind: string): void {
    this.expectedRefusals.set(kind, (this.expectedRefusals.get(kind) ?? 0) + 1);
  }

  get requests(): number {
    let n = 0;
    for (const l of this.latencies.values()) n += l.length;
    return n;
  }

  figures(seconds: number): KindFigures[] {
    return [...this.latencies.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, list]) => {
        const sorted = [...list].sort((a, b) => a - b);
        return {
          kind,
          count: list.length,
          perSecond: round(list.length / seconds),
          p50Ms: round(percentile(sorted, 50)),
          p99Ms: round(percentile(sorted, 99)),
        };
      });
  }
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}
