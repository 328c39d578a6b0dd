import { describe, expect, it } from 'vitest';
import { createBatchedLookup } from './batched-lookup.js';

/** A lookup of numbers by their decimal text that records each load's keys. */
function numbers(opts: { maxKeys?: number; fail?: (keys: string[]) => boolean } = {}) {
  const loads: string[][] = [];
  const lookup = createBatchedLookup<string, number>({
    id: (k) => k,
    maxKeys: opts.maxKeys ?? 100,
    load: async (keys) => {
      loads.push(keys);
      if (opts.fail?.(keys)) throw new Error('store unavailable');
      return new Map(keys.filter((k) => /^\d+$/.test(k)).map((k) => [k, Number(k)]));
    },
  });
  return { lookup, loads };
}

describe('batched lookup', () => {
  it('answers the lookups of one turn with one load, a repeated key loaded once, a missing one undefined', async () => {
    const { lookup, loads } = numbers();
    const got = await Promise.all(['1', '2', 'x', '2', '3'].map((k) => lookup.get(k)));
    expect(got).toEqual([1, 2, undefined, 2, 3]);
    expect(loads).toEqual([['1', '2', 'x', '3']]);
  });

  it('loads a lone lookup at the end of its turn, and a later turn in a load of its own', async () => {
    const { lookup, loads } = numbers();
    expect(await lookup.get('7')).toBe(7);
    expect(await lookup.get('8')).toBe(8);
    expect(loads).toEqual([['7'], ['8']]);
  });

  it('splits a batch larger than maxKeys into loads run at once', async () => {
    const { lookup, loads } = numbers({ maxKeys: 2 });
    const got = await Promise.all(['1', '2', '3', '4', '5'].map((k) => lookup.get(k)));
    expect(got).toEqual([1, 2, 3, 4, 5]);
    expect(loads).toEqual([['1', '2'], ['3', '4'], ['5']]);
  });

  it('fails every lookup of a failed load with its error, and only those', async () => {
    const { lookup } = numbers({ maxKeys: 2, fail: (keys) => keys.includes('3') });
    const got = await Promise.allSettled(['1', '2', '3', '4'].map((k) => lookup.get(k)));
    expect(got.map((g) => (g.status === 'fulfilled' ? g.value : (g.reason as Error).message))).toEqual([
      1,
      2,
      'store unavailable',
      'store unavailable',
    ]);
    // Nothing of a failed load is kept: the key is loaded again next time.
    expect(await lookup.get('4')).toBe(4);
  });
});
