import { describe, expect, it } from 'vitest';
import { createGroupCommit } from './group-commit.js';

const tick = () => new Promise((r) => setImmediate(r));

/** A `run` whose batches finish only when the test says so. */
function gatedRun(fail: (items: number[]) => boolean = () => false) {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (fail(items)) throw new Error('batch failed');
    return items.map((n) => n * 10);
  };
  /** Let every batch in flight finish, and the next ones start (they start on a later turn of the loop). */
  const openAll = async () => {
    while (gates.length > 0) gates.shift()!();
    for (let i = 0; i < 3; i++) await tick();
  };
  /** Open gates until `p` settles. */
  const drain = async <T>(p: Promise<T>): Promise<T> => {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 50 && !settled; i++) await openAll();
    return p;
  };
  return { batches, run, openAll, drain };
}

describe('group commit', () => {
  it('writes what arrives while a batch is in flight as the next batch, each item getting its own result', async () => {
    const g = gatedRun();
    const gc = createGroupCommit<number, number>({ run: g.run, maxInFlight: 1, maxWeight: 100 });
    const first = gc.submit(1);
    await tick();
    expect(g.batches).toEqual([[1]]);
    const rest = [2, 3, 4, 5].map((n) => gc.submit(n));
    await tick();
    expect(gc.waiting).toBe(4);
    await g.openAll();
    expect(await first).toBe(10);
    expect(g.batches).toEqual([[1], [2, 3, 4, 5]]);
    await g.openAll();
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
    expect(gc.waiting).toBe(0);
  });

  it('keeps batches under the weight bound but always takes a heavy item, alone', async () => {
    const g = gatedRun();
    const gc = createGroupCommit<number, number>({
      run: g.run,
      maxInFlight: 1,
      maxWeight: 10,
      weight: (n) => n,
    });
    const all = [4, 5, 3, 50, 2].map((n) => gc.submit(n));
    expect(await g.drain(Promise.all(all))).toEqual([40, 50, 30, 500, 20]);
    expect(g.batches).toEqual([[4, 5], [3], [50], [2]]);
  });

  it('runs up to maxInFlight batches at once', async () => {
    const g = gatedRun();
    const gc = createGroupCommit<number, number>({ run: g.run, maxInFlight: 2, maxWeight: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => gc.submit(n));
    await tick();
    expect(g.batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(await g.drain(Promise.all(all))).toEqual([10, 20, 30, 40, 50]);
  });

  it('runs a failed batch again one item at a time: only the item that fails alone is rejected', async () => {
    const splits: number[] = [];
    const g = gatedRun((items) => items.includes(3));
    const gc = createGroupCommit<number, number>({
      run: g.run,
      maxInFlight: 1,
      maxWeight: 100,
      onSplit: (_err, n) => splits.push(n),
    });
    const all = [1, 2, 3, 4].map((n) =>
      gc.submit(n).then(
        (v) => ({ v }),
        (e: Error) => ({ e: e.message }),
      ),
    );
    expect(await g.drain(Promise.all(all))).toEqual([{ v: 10 }, { v: 20 }, { e: 'batch failed' }, { v: 40 }]);
    expect(g.batches).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
    expect(splits).toEqual([4]);
    // A batch of one that fails is not run again.
    expect(await g.drain(gc.submit(3).catch((e: Error) => e.message))).toBe('batch failed');
    expect(splits).toEqual([4]);
  });
});
