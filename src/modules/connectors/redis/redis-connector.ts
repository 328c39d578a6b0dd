import type { Redis } from 'ioredis';
import type {
  CheckReport,
  Connector,
  EraseOutcome,
  ExportedRecords,
  Located,
  SubjectIdentifiers,
} from '../port.js';
import { createRedisClient } from './redis-client.js';
import { keysOf, MAX_ITEMS, readKey, resolveFields, resolveKeys } from './redis-read.js';
import { targetsOf, targetWarnings, type RedisSpec, type Target } from './redis-targets.js';

/** Keys per UNLINK call. */
const UNLINK_BATCH = 500;
/** Past this many keys, warn that every wildcard template walks them all (SCAN filters after reading). */
const LARGE_KEYSPACE = 1_000_000;

/**
 * A Redis system of the data map. Exact keys are checked with EXISTS and removed with UNLINK; `*` templates
 * are expanded with SCAN (identifier values glob-escaped, so `*` or `?` in a value matches only itself); hash
 * fields with HEXISTS/HDEL. Export reads each key by its TYPE, bounded; erase UNLINKs in batches; verify
 * scans again. A retained system (`retain`) is counted and reported, never erased. Single node (or a
 * Sentinel-less primary): Redis Cluster is not supported.
 */
export function createRedisConnector(spec: RedisSpec): Connector {
  const redis = createRedisClient(spec.url);
  const targets = targetsOf(spec);
  const retained = spec.retain?.reason;
  const category = spec.category ?? 'other';

  async function count(r: Redis, t: Target, ids: SubjectIdentifiers): Promise<number> {
    return t.kind === 'key' ? (await resolveKeys(r, t, ids)).length : (await resolveFields(r, t, ids)).length;
  }

  async function locate(ids: SubjectIdentifiers): Promise<Located[]> {
    return redis.run(async (r) => {
      const out: Located[] = [];
      for (const t of targets) out.push({ where: t.where, count: await count(r, t, ids), retained });
      return out;
    });
  }

  async function eraseTarget(r: Redis, t: Target, ids: SubjectIdentifiers): Promise<number> {
    if (t.kind === 'field') {
      const byKey = new Map<string, string[]>();
      for (const f of await resolveFields(r, t, ids))
        byKey.set(f.key, [...(byKey.get(f.key) ?? []), f.field]);
      let n = 0;
      for (const [key, fields] of byKey) n += await r.hdel(key, ...fields);
      return n;
    }
    // Exact keys need no lookup: UNLINK answers how many existed.
    const keys = t.wildcard ? await resolveKeys(r, t, ids) : keysOf(t, ids);
    let n = 0;
    for (let i = 0; i < keys.length; i += UNLINK_BATCH)
      n += await r.unlink(...keys.slice(i, i + UNLINK_BATCH));
    return n;
  }

  return {
    id: spec.id,
    type: 'redis',
    locate,

    async export(ids): Promise<ExportedRecords[]> {
      return redis.run(async (r) => {
        const out: ExportedRecords[] = [];
        for (const t of targets) {
          const records: Record<string, unknown>[] = [];
          if (t.kind === 'key') {
            for (const key of (await resolveKeys(r, t, ids)).slice(0, MAX_ITEMS)) {
              const rec = await readKey(r, key);
              if (rec) records.push(rec);
            }
          } else {
            for (const f of (await resolveFields(r, t, ids)).slice(0, MAX_ITEMS)) {
              const value = await r.hget(f.key, f.field);
              if (value !== null) records.push({ key: f.key, field: f.field, value });
            }
          }
          out.push({ where: t.where, category, records });
        }
        return out;
      });
    },

    async erase(ids): Promise<EraseOutcome[]> {
      if (retained) {
        return (await locate(ids)).map((l) => ({
          where: l.where,
          action: 'retained',
          count: l.count,
          reason: retained,
        }));
      }
      return redis.run(async (r) => {
        const out: EraseOutcome[] = [];
        for (const t of targets)
          out.push({ where: t.where, action: 'deleted', count: await eraseTarget(r, t, ids) });
        return out;
      });
    },

    async verify(ids): Promise<Located[]> {
      if (retained) return [];
      return locate(ids);
    },

    async check(probe?: SubjectIdentifiers): Promise<CheckReport> {
      let size: number;
      try {
        size = await redis.run(async (r) => {
          await r.ping();
          return r.dbsize();
        });
      } catch (err) {
        return { reachable: false, warnings: [(err as { code?: string }).code ?? 'redis_error'] };
      }
      const warnings = targetWarnings(targets);
      if (size > LARGE_KEYSPACE && targets.some((t) => t.wildcard)) {
        warnings.push(`${size} keys: each wildcard template SCANs all of them per identifier`);
      }
      return { reachable: true, warnings, located: probe ? await locate(probe) : undefined };
    },

    close: () => redis.close(),
  };
}
