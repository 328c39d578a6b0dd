import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/**
 * Hold what `fn` writes through one transaction handle and write it once `fn` has returned: while `fn` runs,
 * `registry` maps the handle to the held state (writers through the same handle add to it), and `flush` writes
 * it, still inside the transaction. When `fn` throws, nothing is flushed (the transaction is rolling back).
 * Outside a transaction, or inside a batch already open on the handle, `fn` just runs (the outermost writes).
 */
export async function withHeldWrites<S, T>(
  registry: WeakMap<Kysely<DB>, S>,
  tx: Kysely<DB>,
  open: () => S,
  fn: () => Promise<T>,
  flush: (held: S) => Promise<void>,
): Promise<T> {
  if (!tx.isTransaction || registry.has(tx)) return fn();
  const held = open();
  registry.set(tx, held);
  let result: T;
  try {
    result = await fn();
  } finally {
    registry.delete(tx);
  }
  await flush(held);
  return result;
}
