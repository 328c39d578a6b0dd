import crypto, { type KeyObject } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * RSA-OAEP-SHA256 unwrapping of Flows request keys on worker threads. The private-key operation is most of a
 * Flows call's CPU (about half of an INIT); on the event loop it caps the whole process at one core's worth of
 * decrypts, on workers it runs beside the HTTP and database work. The private key goes to each worker once
 * (KeyObjects are cloneable) and stays there; a message carries only the 256-byte wrapped key and gets back the
 * 16-byte AES key. Failures to decrypt come back as `undefined`, as with bad input inline; a worker that dies
 * fails its pending calls with an error (an answer 5xx, not "cannot decrypt") and is replaced on the next call.
 */
export interface RsaUnwrapper {
  /** The AES key, or undefined when the wrapped key does not decrypt under `key`. */
  unwrap(key: KeyObject, wrapped: Buffer): Promise<Buffer | undefined>;
  /** Worker threads in use (0: unwrapping runs inline). */
  readonly threads: number;
  close(): Promise<void>;
}

const OAEP = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

/** Inline unwrapping (one core, or tests): the same contract without threads. */
export function unwrapInline(key: KeyObject, wrapped: Buffer): Buffer | undefined {
  try {
    return crypto.privateDecrypt({ key, ...OAEP }, wrapped);
  } catch {
    return undefined;
  }
}

/** The worker: CommonJS, no imports of flowguard code, so it runs the same from src (tests) and dist. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const keys = new Map();
const oaep = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
parentPort.on('message', (m) => {
  if (m.key) keys.set(m.keyId, m.key);
  let out;
  try {
    out = crypto.privateDecrypt({ key: keys.get(m.keyId), ...oaep }, m.wrapped);
  } catch {
    out = undefined;
  }
  parentPort.postMessage({ id: m.id, out });
});
`;

interface Pending {
  resolve: (b: Buffer | undefined) => void;
  reject: (err: Error) => void;
}

interface Lane {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Key ids this worker holds. */
  keys: Set<number>;
}

/** Threads for this machine: one core stays with the event loop; at most 4 (RSA is a small part beyond that). */
export function defaultRsaThreads(): number {
  return Math.max(0, Math.min(4, os.availableParallelism() - 1));
}

export function createRsaUnwrapper(
  threads = defaultRsaThreads(),
  /** Sees each worker started (a test stops one to stand in for a crash). */
  opts: { onWorker?: (worker: Worker) => void } = {},
): RsaUnwrapper {
  if (threads <= 0) {
    return { threads: 0, unwrap: async (key, wrapped) => unwrapInline(key, wrapped), close: async () => {} };
  }
  const keyIds = new WeakMap<KeyObject, number>();
  let nextKeyId = 1;
  let nextId = 1;
  let closed = false;
  const lanes: (Lane | undefined)[] = new Array(threads).fill(undefined);

  function start(slot: number): Lane {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    opts.onWorker?.(worker);
    const lane: Lane = { worker, pending: new Map(), keys: new Set() };
    const fail = (err: Error) => {
      if (lanes[slot] === lane) lanes[slot] = undefined;
      for (const p of lane.pending.values()) p.reject(err);
      lane.pending.clear();
    };
    worker.on('message', (m: { id: number; out?: Uint8Array }) => {
      const p = lane.pending.get(m.id);
      if (!p) return;
      lane.pending.delete(m.id);
      p.resolve(m.out ? Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength) : undefined);
    });
    worker.on('error', () => fail(new Error('RSA worker failed')));
    worker.on('exit', () => fail(new Error('RSA worker stopped')));
    lanes[slot] = lane;
    return lane;
  }

  /** The lane with the fewest calls in flight (a missing one is started). */
  function pick(): Lane {
    let best: Lane | undefined;
    for (let slot = 0; slot < lanes.length; slot++) {
      const lane = lanes[slot] ?? start(slot);
      if (!best || lane.pending.size < best.pending.size) best = lane;
      if (best.pending.size === 0) break;
    }
    return best!;
  }

  return {
    threads,
    unwrap(key, wrapped) {
      if (closed) return Promise.resolve(unwrapInline(key, wrapped));
      let keyId = keyIds.get(key);
      if (keyId === undefined) {
        keyId = nextKeyId++;
        keyIds.set(key, keyId);
      }
      const lane = pick();
      const id = nextId++;
      const first = !lane.keys.has(keyId);
      lane.keys.add(keyId);
      return new Promise((resolve, reject) => {
        lane.pending.set(id, { resolve, reject });
        lane.worker.postMessage({ id, keyId, wrapped, ...(first ? { key } : {}) });
      });
    },
    async close() {
      closed = true;
      await Promise.all(lanes.map((lane) => lane?.worker.terminate()));
    },
  };
}
