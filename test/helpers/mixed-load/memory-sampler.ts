import fs from 'node:fs';
import { median } from './load-stats.js';

/**
 * The server's memory while the load runs, sampled every few seconds: resident set size from
 * /proc/<pid>/status (VmRSS; the process metric where there is no /proc) and the V8 heap in use from its
 * Prometheus metrics. After a warm-up the samples are cut in thirds; a leak shows as the last third's median
 * above the first's.
 */

export interface MemorySample {
  atMs: number;
  rssBytes: number;
  heapBytes: number;
}

export interface MemoryReport {
  samples: number;
  /** Medians of the first and last third of the samples after the warm-up, in MB. */
  heapFirstMb: number;
  heapLastMb: number;
  heapRatio: number;
  rssFirstMb: number;
  rssLastMb: number;
  rssRatio: number;
}

const HEAP_METRIC = 'flowguard_process_nodejs_heap_size_used_bytes';
const RSS_METRIC = 'flowguard_process_process_resident_memory_bytes';

function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

function vmRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class MemorySampler {
  readonly samples: MemorySample[] = [];
  readonly failures: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> = Promise.resolve();
  private readonly t0 = Date.now();

  constructor(
    private readonly pid: number,
    private readonly baseUrl: string,
  ) {}

  async sample(): Promise<void> {
    try {
      const res = await fetch(`${this.baseUrl}/metrics`, { signal: AbortSignal.timeout(30_000) });
      const text = await res.text();
      const heap = metric(text, HEAP_METRIC);
      const rss = vmRss(this.pid) ?? metric(text, RSS_METRIC);
      if (res.status !== 200 || heap === undefined || rss === undefined) {
        this.failures.push(`GET /metrics answered ${res.status} without the memory metrics`);
        return;
      }
      this.samples.push({ atMs: Date.now() - this.t0, rssBytes: rss, heapBytes: heap });
    } catch (err) {
      this.failures.push(`GET /metrics failed: ${(err as Error).message}`);
    }
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.pending = this.pending.then(() => this.sample());
    }, everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pending;
  }

  /** First and last third of the samples taken after `warmupMs`. */
  report(warmupMs: number): MemoryReport {
    const kept = this.samples.filter((s) => s.atMs >= warmupMs);
    const third = Math.max(1, Math.floor(kept.length / 3));
    const first = kept.slice(0, third);
    const last = kept.slice(-third);
    const mb = (values: number[]) => Math.round((median(values) / 1048576) * 10) / 10;
    const heapFirstMb = mb(first.map((s) => s.heapBytes));
    const heapLastMb = mb(last.map((s) => s.heapBytes));
    const rssFirstMb = mb(first.map((s) => s.rssBytes));
    const rssLastMb = mb(last.map((s) => s.rssBytes));
    const ratio = (a: number, b: number) => (a > 0 ? Math.round((b / a) * 100) / 100 : 0);
    return {
      samples: kept.length,
      heapFirstMb,
      heapLastMb,
      heapRatio: ratio(heapFirstMb, heapLastMb),
      rssFirstMb,
      rssLastMb,
      rssRatio: ratio(rssFirstMb, rssLastMb),
    };
  }
}
