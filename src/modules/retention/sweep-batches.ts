/**
 * The sweeper's loop for one category: count what is expired, then take it away one bounded batch at a time
 * (each batch one short statement or transaction), pausing between batches so ingestion always gets the
 * database in between, until a batch comes back short or the run's time budget is spent.
 */

export interface CategoryResult {
  expired: number;
  deleted: number;
}

export interface BatchSweep {
  /** Rows (or people, files) past their retention now. */
  count(): Promise<number>;
  /** Remove at most `limit`; returns how many went. */
  batch(limit: number): Promise<number>;
  /** Batches smaller than the run's batchSize (e.g. whole people, each several statements). */
  batchLimit?: number;
}

export interface LoopOptions {
  dryRun: boolean;
  batchSize: number;
  pauseMs: number;
  /** The run's time budget is spent, or its lease was lost. */
  shouldStop(): boolean;
  /** Called before each batch (renews the run's lease). */
  beforeBatch(): Promise<void>;
  onProgress(result: CategoryResult, done: boolean): void;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function sweepInBatches(sweep: BatchSweep, opts: LoopOptions): Promise<CategoryResult> {
  const result: CategoryResult = { expired: await sweep.count(), deleted: 0 };
  opts.onProgress(result, false);
  if (!opts.dryRun && result.expired > 0) {
    const limit = Math.max(1, Math.min(opts.batchSize, sweep.batchLimit ?? opts.batchSize));
    while (!opts.shouldStop()) {
      await opts.beforeBatch();
      const n = await sweep.batch(limit);
      result.deleted += n;
      opts.onProgress(result, false);
      if (n < limit) break;
      await sleep(opts.pauseMs);
    }
  }
  opts.onProgress(result, true);
  return result;
}
