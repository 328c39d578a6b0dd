import fs from 'node:fs';
import path from 'node:path';
import type { SealedPurposeKey } from '../../lib/crypto/index.js';
import { AppError } from '../../lib/errors.js';
import { acquirePidLock } from '../../lib/pid-lock.js';
import type { JournalEntry, KeyStore, RotationState, StoredKey } from './key-store.js';

/**
 * The embedded key store: a directory (`FLOWGUARD_DATA_DIR/keys`, 0700) of append-only files, held in memory
 * by the one process that owns the embedded store.
 * - `keys/<0..f>.log`: 16 shards by the first hex digit of the ref, one JSON line per put or re-wrap
 *   (`{o:"p",r,t,w,v}`), fsync'd per write. A delete rewrites the shards it touches without the deleted keys
 *   (fsync, atomic rename), so a shredded key's bytes leave the disk at once instead of lingering until some
 *   later vacuum, and a deletion rewrites a sixteenth of the store, not all of it.
 * - `journal.log`: the erasure journal, one JSON line per entry (ref, tenant, time); appended before the keys
 *   are deleted, so a crash in between leaves a journalled key, which loading drops. Entries older than the
 *   database backups (retention `erasure_journal`) are dropped by rewriting the file (fsync, atomic rename).
 * - `material.json`, `rotation.json`: purpose keys and rotation progress, replaced atomically.
 * Values are wrapped keys (AES-256-GCM under the master key, bound to their ref) and keyed HMAC refs.
 */

interface KeyLine {
  o: 'p';
  r: string;
  t?: string;
  w?: string;
  v?: string;
}

function readLines(file: string): unknown[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const out: unknown[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A torn last line (crash mid-append) is dropped; anything else is damage that must not pass silently.
      if (i === lines.length - 1) break;
      throw new Error(`${file} is damaged at line ${i + 1}`);
    }
  }
  return out;
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

function appendDurable(file: string, lines: string[]): void {
  if (lines.length === 0) return;
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, lines.join(''));
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function lockDir(dir: string): () => void {
  return acquirePidLock(path.join(dir, 'keystore.lock'), (pid) =>
    pid === undefined
      ? new AppError('STORE_LOCKED', {}, `cannot lock the key store in ${dir}`)
      : new AppError('STORE_LOCKED', { pid }, `the key store in ${dir} is in use by process ${pid}`),
  );
}

export function openFileKeyStore(dir: string): KeyStore {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const release = lockDir(dir);
  const shardDir = path.join(dir, 'keys');
  fs.mkdirSync(shardDir, { recursive: true, mode: 0o700 });
  const shardOf = (ref: string) => (/^[0-9a-f]/.test(ref) ? ref[0]! : '0');
  const shardFile = (shard: string) => path.join(shardDir, `${shard}.log`);
  const journalFile = path.join(dir, 'journal.log');
  const materialFile = path.join(dir, 'material.json');
  const rotationFile = path.join(dir, 'rotation.json');

  const journal = new Map<string, JournalEntry>();
  for (const raw of readLines(journalFile) as { r: string; t: string; at: string }[]) {
    journal.set(raw.r, { ref: raw.r, tenantId: raw.t, erasedAt: new Date(raw.at) });
  }
  const keys = new Map<string, StoredKey>();
  /** Lines per shard file (re-wraps append; a shard is rewritten when it holds twice its keys). */
  const lines = new Map<string, number>();
  const live = new Map<string, number>();
  const bump = (m: Map<string, number>, shard: string, n: number) => m.set(shard, (m.get(shard) ?? 0) + n);
  const stale = new Set<string>();
  for (const file of fs.readdirSync(shardDir).filter((f) => /^[0-9a-f]\.log$/.test(f))) {
    const shard = file.slice(0, 1);
    for (const line of readLines(path.join(shardDir, file)) as KeyLine[]) {
      bump(lines, shard, 1);
      keys.set(line.r, { ref: line.r, tenantId: line.t!, wrapped: line.w!, masterVersion: line.v! });
    }
  }
  for (const ref of keys.keys()) {
    // Journalled but not yet removed from its shard (a crash between the two steps of a delete).
    if (journal.has(ref)) {
      keys.delete(ref);
      stale.add(shardOf(ref));
    } else bump(live, shardOf(ref), 1);
  }

  const journalLine = (e: JournalEntry) =>
    JSON.stringify({ r: e.ref, t: e.tenantId, at: e.erasedAt.toISOString() }) + '\n';
  const readMaterial = (): SealedPurposeKey[] =>
    fs.existsSync(materialFile)
      ? (JSON.parse(fs.readFileSync(materialFile, 'utf8')) as SealedPurposeKey[])
      : [];
  const keyLine = (k: StoredKey) =>
    JSON.stringify({ o: 'p', r: k.ref, t: k.tenantId, w: k.wrapped, v: k.masterVersion }) + '\n';
  function compact(shard: string): void {
    const rows = [...keys.values()].filter((k) => shardOf(k.ref) === shard);
    writeAtomic(shardFile(shard), rows.map(keyLine).join(''));
    lines.set(shard, rows.length);
    live.set(shard, rows.length);
  }
  for (const [shard, n] of lines) if (stale.has(shard) || n > 2 * (live.get(shard) ?? 0) + 64) compact(shard);

  let sorted: string[] | undefined;
  const refsInOrder = () => (sorted ??= [...keys.keys()].sort());
  let chain: Promise<unknown> = Promise.resolve();
  function exclusive<T>(fn: () => T): Promise<T> {
    const next = chain.then(fn);
    chain = next.catch(() => undefined);
    return next;
  }
  function scan(after: string | null, limit: number, match: (k: StoredKey) => boolean): StoredKey[] {
    const refs = refsInOrder();
    let lo = 0;
    if (after !== null) {
      let hi = refs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (refs[mid]! <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: StoredKey[] = [];
    for (let i = lo; i < refs.length && out.length < limit; i++) {
      const k = keys.get(refs[i]!);
      if (k && match(k)) out.push({ ...k });
    }
    return out;
  }
  let closed = false;
  /** One durable append per shard touched. */
  const putMany = (batch: StoredKey[]) =>
    exclusive(() => {
      const byShard = new Map<string, StoredKey[]>();
      for (const key of batch) byShard.set(shardOf(key.ref), [...(byShard.get(shardOf(key.ref)) ?? []), key]);
      for (const [shard, shardKeys] of byShard) {
        appendDurable(shardFile(shard), shardKeys.map(keyLine));
        bump(lines, shard, shardKeys.length);
        for (const key of shardKeys) {
          if (!keys.has(key.ref)) {
            sorted = undefined;
            bump(live, shard, 1);
          }
          keys.set(key.ref, { ...key });
        }
      }
    });

  return {
    kind: 'file',
    separate: true,
    location: dir,
    put: (key) => putMany([key]),
    putMany,
    get: async (ref) => {
      const k = keys.get(ref);
      return k && !journal.has(ref) ? { ...k } : undefined;
    },
    delete: (entries) =>
      exclusive(() => {
        const fresh = entries.filter((e) => !journal.has(e.ref));
        appendDurable(journalFile, fresh.map(journalLine));
        for (const e of fresh) journal.set(e.ref, { ...e });
        const touched = new Set<string>();
        let deleted = 0;
        for (const e of entries) {
          if (!keys.delete(e.ref)) continue;
          deleted++;
          touched.add(shardOf(e.ref));
        }
        for (const shard of touched) compact(shard);
        if (deleted) sorted = undefined;
        return deleted;
      }),
    listByTenant: async (tenantId, after, limit) => scan(after, limit, (k) => k.tenantId === tenantId),
    listNotAt: async (version, after, limit) => scan(after, limit, (k) => k.masterVersion !== version),
    countNotAt: async (version) => [...keys.values()].filter((k) => k.masterVersion !== version).length,
    count: async () => keys.size,
    rewrap: (updates) =>
      exclusive(() => {
        const applied: StoredKey[] = [];
        for (const u of updates) {
          const k = keys.get(u.ref);
          if (!k || k.wrapped !== u.from) continue;
          applied.push({ ...k, wrapped: u.wrapped, masterVersion: u.masterVersion });
        }
        const byShard = new Map<string, StoredKey[]>();
        for (const k of applied) {
          const rows = byShard.get(shardOf(k.ref));
          if (rows) rows.push(k);
          else byShard.set(shardOf(k.ref), [k]);
        }
        for (const [shard, rows] of byShard) {
          appendDurable(shardFile(shard), rows.map(keyLine));
          bump(lines, shard, rows.length);
        }
        for (const k of applied) keys.set(k.ref, k);
        for (const shard of byShard.keys()) {
          if ((lines.get(shard) ?? 0) > 2 * (live.get(shard) ?? 0) + 64) compact(shard);
        }
        return applied.length;
      }),
    present: async (refs) => new Set(refs.filter((r) => keys.has(r))),
    journaled: async (refs) => new Set(refs.filter((r) => journal.has(r))),
    journalSize: async () => journal.size,
    countJournalBefore: async (before) =>
      [...journal.values()].filter((e) => e.erasedAt.getTime() < before.getTime()).length,
    // The whole file is rewritten anyway: one rewrite takes every expired entry, whatever the batch size.
    purgeJournal: (before) =>
      exclusive(() => {
        const gone = [...journal.values()].filter((e) => e.erasedAt.getTime() < before.getTime());
        if (gone.length === 0) return 0;
        for (const e of gone) journal.delete(e.ref);
        writeAtomic(journalFile, [...journal.values()].map(journalLine).join(''));
        return gone.length;
      }),
    getMaterial: async () => readMaterial(),
    putMaterial: (records, mode) =>
      exclusive(() => {
        const byId = new Map(readMaterial().map((r) => [`${r.purpose}:${r.version}`, r]));
        for (const r of records) {
          const id = `${r.purpose}:${r.version}`;
          const had = byId.get(id);
          // A re-wrap keeps the version's activation time.
          if (mode === 'replace' || !had)
            byId.set(id, had?.activeFrom ? { ...r, activeFrom: had.activeFrom } : r);
        }
        writeAtomic(materialFile, JSON.stringify([...byId.values()], null, 1));
      }),
    deleteMaterial: (purpose, version) =>
      exclusive(() => {
        const current = readMaterial();
        const kept = current.filter((r) => !(r.purpose === purpose && r.version === version));
        if (kept.length === current.length) return false;
        writeAtomic(materialFile, JSON.stringify(kept, null, 1));
        return true;
      }),
    getRotation: async () => {
      if (!fs.existsSync(rotationFile)) return undefined;
      const raw = JSON.parse(fs.readFileSync(rotationFile, 'utf8')) as Record<string, unknown>;
      return {
        targetVersion: String(raw.targetVersion),
        cursor: (raw.cursor as string | null) ?? null,
        rewrapped: Number(raw.rewrapped),
        batches: Number(raw.batches),
        startedAt: new Date(String(raw.startedAt)),
        updatedAt: new Date(String(raw.updatedAt)),
        finishedAt: raw.finishedAt ? new Date(String(raw.finishedAt)) : null,
      };
    },
    setRotation: (state: RotationState) => exclusive(() => writeAtomic(rotationFile, JSON.stringify(state))),
    async close() {
      if (closed) return;
      closed = true;
      await chain;
      release();
    },
  };
}
