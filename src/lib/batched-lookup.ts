/**
 * Batched reads: lookups asked for in the same turn of the event loop are answered by one `load` of all their
 * keys (at most `maxKeys` per load), in the turn's check phase. Nothing waits for a timer: a lone lookup is
 * loaded at the end of the turn that asked for it, so under light load latency is unchanged, and under heavy
 * load calls that arrive together (read from their sockets in one turn, or answered together by a worker
 * thread) share a statement, a round trip and its system calls. The same key asked for twice in a batch is
 * loaded once. When a load fails, every lookup of its batch fails with its error.
 */
export interface BatchedLookupOptions<K, V> {
  /** Identity of a key within a batch (equal keys share one result). */
  id: (key: K) => string;
  /** The values of these keys, by `id`; a key missing from the map resolves undefined. */
  load: (keys: K[]) => Promise<Map<string, V>>;
  /** Keys per load at most; a larger batch is loaded in several, at once. */
  maxKeys: number;
}

interface Pending<V> {
  resolve: (v: V | undefined) => void;
  reject: (err: unknown) => void;
}

export function createBatchedLookup<K, V>(opts: BatchedLookupOptions<K, V>) {
  let batch = new Map<string, { key: K; waiting: Pending<V>[] }>();
  let scheduled = false;

  async function run(entries: { key: K; waiting: Pending<V>[] }[]): Promise<void> {
    let found: Map<string, V>;
    try {
      found = await opts.load(entries.map((e) => e.key));
    } catch (err) {
      for (const e of entries) for (const w of e.waiting) w.reject(err);
      return;
    }
    for (const e of entries) {
      const value = found.get(opts.id(e.key));
      for (const w of e.waiting) w.resolve(value);
    }
  }

  function flush(): void {
    scheduled = false;
    const entries = [...batch.values()];
    batch = new Map();
    for (let i = 0; i < entries.length; i += opts.maxKeys) void run(entries.slice(i, i + opts.maxKeys));
  }

  return {
    get(key: K): Promise<V | undefined> {
      return new Promise<V | undefined>((resolve, reject) => {
        const id = opts.id(key);
        const entry = batch.get(id);
        if (entry) entry.waiting.push({ resolve, reject });
        else batch.set(id, { key, waiting: [{ resolve, reject }] });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}

export type BatchedLookup<K, V> = ReturnType<typeof createBatchedLookup<K, V>>;
