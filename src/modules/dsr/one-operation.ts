import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { withAuditBatch } from '../audit/index.js';
import type { DsrDeps } from './dsr.types.js';

/**
 * Run one privacy-request operation (record, verify, erase, complete) inside the caller's transaction with its
 * writes of the same kind put together: the audit events it appends go into the chain with one statement and the
 * jobs it enqueues with another, both when it returns, so still in the transaction (they exist exactly when the
 * change commits, and jobs run only after that). The chain's lock is still taken where the first event is
 * appended, so the lock order (task, then request, then the audit chain) is the same as appending one by one.
 */
export function asOneOperation<T>(
  tx: Kysely<DB>,
  deps: Pick<DsrDeps, 'queue'>,
  fn: () => Promise<T>,
): Promise<T> {
  return withAuditBatch(tx, () => deps.queue.batch(tx, fn));
}
