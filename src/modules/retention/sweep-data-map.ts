import type { DataMap } from '../connectors/data-map.js';
import type { SweepOptions } from '../connectors/port.js';
import type { CategoryResult } from './sweep-batches.js';

/**
 * Data-map systems that declare retention (SQL collections with `retention: {column, days}`) sweep their own
 * rows through their connector, in bounded batches. Each collection is one category of the summary:
 * `<system>.<table>`. Systems without `sweepExpired` (redis: TTLs; object stores: lifecycle rules; CRMs) are
 * not touched here.
 */
export async function sweepDataMap(
  dataMap: Pick<DataMap, 'systems' | 'get'>,
  opts: Omit<SweepOptions, 'onBatch'> & {
    onProgress(category: string, result: CategoryResult, done: boolean): void;
  },
): Promise<Record<string, CategoryResult>> {
  const out: Record<string, CategoryResult> = {};
  for (const system of dataMap.systems) {
    if (system.type !== 'postgres' && system.type !== 'mysql') continue;
    if (!system.collections.some((c) => c.retention)) continue;
    const connector = dataMap.get(system.id);
    if (!connector?.sweepExpired) continue;
    const running: Record<string, CategoryResult> = {};
    const outcomes = await connector.sweepExpired({
      ...opts,
      onBatch: (where, rows) => {
        const r = (running[where] ??= { expired: 0, deleted: 0 });
        r.deleted += rows;
        opts.onProgress(`${system.id}.${where}`, r, false);
      },
    });
    for (const o of outcomes) {
      const result = { expired: o.expired, deleted: o.swept };
      out[`${system.id}.${o.where}`] = result;
      opts.onProgress(`${system.id}.${o.where}`, result, true);
    }
  }
  return out;
}
