import type { Redis } from 'ioredis';
import type { SubjectIdentifiers } from '../port.js';
import { fill, type Target } from './redis-targets.js';

/** SCAN page size; SCAN walks the keyspace incrementally and never blocks Redis like KEYS would. */
const SCAN_COUNT = 500;
const PIPELINE = 500;
/** Export bounds: items of one collection value, bytes of one string. */
export const MAX_ITEMS = 1000;
const MAX_BYTES = 1 << 20;

type KeyTarget = Extract<Target, { kind: 'key' }>;
type FieldTarget = Extract<Target, { kind: 'field' }>;
interface HashField {
  key: string;
  field: string;
}

/** Keys matching a glob pattern (optionally only of one type), by SCAN MATCH … COUNT 500 — never KEYS. */
async function scanKeys(r: Redis, pattern: string, type?: string): Promise<string[]> {
  const out = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = type
      ? await r.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT, 'TYPE', type)
      : await r.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (const k of keys) out.add(k);
  } while (cursor !== '0');
  return [...out];
}

/** Run commands in pipelines of 500; the first failed command's error is thrown. */
async function pipe(r: Redis, cmds: (string | number)[][]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < cmds.length; i += PIPELINE) {
    const res = (await r.pipeline(cmds.slice(i, i + PIPELINE)).exec()) ?? [];
    for (const [err, value] of res) {
      if (err) throw err;
      out.push(value);
    }
  }
  return out;
}

/** The expanded keys of a key target: exact keys as they are, patterns with identifier values escaped. */
export function keysOf(t: KeyTarget, ids: SubjectIdentifiers): string[] {
  return fill([{ text: t.template, glob: t.wildcard }], ids).map(([k]) => k as string);
}

/** The person's existing keys for a key target. */
export async function resolveKeys(r: Redis, t: KeyTarget, ids: SubjectIdentifiers): Promise<string[]> {
  const keys = keysOf(t, ids);
  if (t.wildcard) {
    const found = new Set<string>();
    for (const pattern of keys) for (const k of await scanKeys(r, pattern)) found.add(k);
    return [...found];
  }
  const exists = await pipe(
    r,
    keys.map((k) => ['exists', k]),
  );
  return keys.filter((_, i) => exists[i] === 1);
}

/** The person's existing hash fields for a field target (hash keys found by SCAN … TYPE hash when wildcarded). */
export async function resolveFields(r: Redis, t: FieldTarget, ids: SubjectIdentifiers): Promise<HashField[]> {
  const candidates = new Map<string, HashField>();
  for (const [key, field] of fill(
    [
      { text: t.key, glob: t.wildcard },
      { text: t.field, glob: false },
    ],
    ids,
  ) as [string, string][]) {
    const keys = t.wildcard ? await scanKeys(r, key, 'hash') : [key];
    for (const k of keys) candidates.set(`${k}\u0000${field}`, { key: k, field });
  }
  const pairs = [...candidates.values()];
  const exists = await pipe(
    r,
    pairs.map((p) => ['hexists', p.key, p.field]),
  );
  return pairs.filter((_, i) => exists[i] === 1);
}

const pairsToObject = (flat: string[]) => {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1] as string;
  return o;
};

/** One key's value by its TYPE, bounded (MAX_ITEMS items, MAX_BYTES of a string); `truncated` when cut. */
export async function readKey(r: Redis, key: string): Promise<Record<string, unknown> | undefined> {
  const type = await r.type(key);
  const cut = (total: number) => (total > MAX_ITEMS ? { truncated: true } : {});
  switch (type) {
    case 'string': {
      const len = await r.strlen(key);
      const value = await r.getrange(key, 0, MAX_BYTES - 1);
      return { key, type, value, ...(len > MAX_BYTES ? { truncated: true } : {}) };
    }
    case 'hash': {
      const n = await r.hlen(key);
      if (n <= MAX_ITEMS) return { key, type, value: await r.hgetall(key) };
      const [, flat] = await r.hscan(key, '0', 'COUNT', MAX_ITEMS);
      return { key, type, value: pairsToObject(flat), truncated: true };
    }
    case 'list':
      return { key, type, value: await r.lrange(key, 0, MAX_ITEMS - 1), ...cut(await r.llen(key)) };
    case 'set': {
      const n = await r.scard(key);
      if (n <= MAX_ITEMS) return { key, type, value: await r.smembers(key) };
      const [, members] = await r.sscan(key, '0', 'COUNT', MAX_ITEMS);
      return { key, type, value: members, truncated: true };
    }
    case 'zset':
      return {
        key,
        type,
        value: pairsToObject(await r.zrange(key, 0, MAX_ITEMS - 1, 'WITHSCORES')),
        ...cut(await r.zcard(key)),
      };
    case 'stream':
      return {
        key,
        type,
        value: (await r.xrange(key, '-', '+', 'COUNT', MAX_ITEMS)).map(([id, fields]) => ({
          id,
          fields: pairsToObject(fields),
        })),
        ...cut(await r.xlen(key)),
      };
    case 'none':
      return undefined; // expired or deleted since it was found
    default:
      return { key, type }; // a module type: named, not read
  }
}
