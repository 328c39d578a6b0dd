/**
 * Group commit: work submitted while earlier work is being written waits and is then written together, in one
 * transaction. Nothing waits for a timer: with nothing in flight a submission starts at once (a batch of one),
 * so under light load latency is unchanged, and under heavy load the batches grow with it and the statements and
 * commits per item shrink. Each item's promise settles only when the batch that holds it has committed.
 *
 * When a batch fails (one bad item, a deadlock, a lost connection) it is run again one item per batch, so an
 * item fails only when it fails alone, and a caller is never told its item failed because of another.
 */
export interface GroupCommitOptions<T, R> {
  /** Writes the items in one transaction and returns one result per item, in order. */
  run(items: T[]): Promise<R[]>;
  /** Batches in flight at once (each holds a database connection). */
  maxInFlight: number;
  /** Upper bound of one batch, in `weight` units. */
  maxWeight: number;
  /** The size of one item (events in a delivery); 1 when omitted. */
  weight?: (item: T) => number;
  /** A batch of several items failed and is being run again one item at a time. */
  onSplit?: (err: unknown, items: number) => void;
}

interface Waiting<T, R> {
  item: T;
  weight: number;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export function createGroupCommit<T, R>(opts: GroupCommitOptions<T, R>) {
  const queue: Waiting<T, R>[] = [];
  let inFlight = 0;

  function take(): Waiting<T, R>[] {
    const batch: Waiting<T, R>[] = [];
    let weight = 0;
    // The first item always goes, however heavy: a batch of one is the unit of progress.
    while (queue.length > 0 && (batch.length === 0 || weight + queue[0]!.weight <= opts.maxWeight)) {
      const next = queue.shift()!;
      weight += next.weight;
      batch.push(next);
    }
    return batch;
  }

  async function runAlone(w: Waiting<T, R>): Promise<void> {
    try {
      const [r] = await opts.run([w.item]);
      w.resolve(r as R);
    } catch (err) {
      w.reject(err);
    }
  }

  async function runBatch(batch: Waiting<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await opts.run(batch.map((w) => w.item));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      opts.onSplit?.(err, batch.length);
      // One after the other: run together again they could meet the same conflict.
      for (const w of batch) await runAlone(w);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i] as R));
  }

  let starting = false;
  /**
   * Batches start on the next turn of the event loop, not in the call that queued the item: requests already
   * read from their sockets get to join first. It also lets an embedded store, whose statements may all run
   * without ever yielding to I/O, gather the requests that arrived while the last batch ran.
   */
  function pump(): void {
    if (starting || inFlight >= opts.maxInFlight || queue.length === 0) return;
    starting = true;
    setImmediate(() => {
      starting = false;
      while (inFlight < opts.maxInFlight && queue.length > 0) {
        const batch = take();
        inFlight++;
        void runBatch(batch).finally(() => {
          inFlight--;
          pump();
        });
      }
    });
  }

  return {
    submit(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, weight: Math.max(1, opts.weight?.(item) ?? 1), resolve, reject });
        pump();
      });
    },
    /** Items waiting for a batch (not those being written). */
    get waiting(): number {
      return queue.length;
    },
  };
}

export type GroupCommit<T, R> = ReturnType<typeof createGroupCommit<T, R>>;
