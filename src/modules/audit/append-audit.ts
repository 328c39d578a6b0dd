import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import { withHeldWrites } from '../../lib/db/held-writes.js';
import type { DB } from '../../lib/db/schema.js';
import {
  auditInsertCtes,
  auditWritten,
  insertRowsAndCheckpoint,
  lockHead,
  type AuditCte,
  type ChainHead,
  type StoredAuditRow,
} from './audit.repo.js';
import { GENESIS_HASH, chainHash, type ChainRecord } from './chain-hash.js';
import { AUDIT_KEY_VERSION, auditKeyVersionOf, auditSubjectRef } from './subject-ref.js';
import { validateAuditEvent, type AuditEvent } from './validate-event.js';

export interface AppendedAuditEvent {
  seq: number;
  id: string;
  hash: string;
}

/** An event validated and ready to chain: everything but its place in the chain. */
type Unchained = Omit<ChainRecord, 'seq'>;

/**
 * The tail each open transaction last wrote, so its next append needs one statement: the transaction holds the
 * checkpoint's lock until it ends, so no one else can move the tail meanwhile. Keyed by the transaction object
 * (gone with it); an append through another handle of the same transaction just locks and reads again.
 */
const tails = new WeakMap<Kysely<DB>, ChainHead>();

/** Events of an open withAuditBatch, chained onto `head` (locked) and not yet inserted. */
interface Batch {
  head: ChainHead | undefined;
  locked: boolean;
  rows: StoredAuditRow[];
}
const batches = new WeakMap<Kysely<DB>, Batch>();

function prepare(keyring: Pick<Keyring, 'hmac'>, event: AuditEvent): Unchained {
  const v = validateAuditEvent(event);
  const subject_ref =
    v.subject === undefined
      ? null
      : 'subjectRef' in v.subject
        ? v.subject.subjectRef
        : auditSubjectRef(keyring, { subjectId: v.subject.subjectId });
  return {
    id: crypto.randomUUID(),
    tenant_id: v.tenant_id,
    occurred_at: v.occurred_at,
    actor_type: v.actor_type,
    actor_id: v.actor_id,
    event_type: v.event_type,
    subject_ref,
    key_version: subject_ref === null ? AUDIT_KEY_VERSION : auditKeyVersionOf(subject_ref),
    request_id: v.request_id,
    data: v.data,
  };
}

/** The events as consecutive rows after `head` (seq + 1 each, each linking to the one before). */
function chain(head: ChainHead | undefined, events: readonly Unchained[]): StoredAuditRow[] {
  let seq = head?.seq ?? 0;
  let prev_hash = head?.hash ?? GENESIS_HASH;
  return events.map((e) => {
    const record: ChainRecord = { ...e, seq: ++seq };
    const hash = chainHash(prev_hash, record);
    const row = { ...record, prev_hash, hash };
    prev_hash = hash;
    return row;
  });
}

const appended = (rows: readonly StoredAuditRow[]): AppendedAuditEvent[] =>
  rows.map(({ seq, id, hash }) => ({ seq, id, hash }));

/**
 * Append events to the audit chain inside the caller's transaction: the one that makes the change, so the
 * events exist exactly when the change does (a rollback leaves no trace). The transaction's first append locks
 * the checkpoint in audit_head (the tail last written) and links to it; later appends of the same transaction
 * link to its own last row. All the events go in with one statement, which moves the checkpoint to the last of
 * them, and only if the checkpoint is still the tail the first links to. Linking to the checkpoint rather than to
 * whatever row is last means a deleted tail is not papered over by the next append. seq is the tail's + 1:
 * dense under the lock. Every event is validated before anything is written.
 * Needs READ COMMITTED (the default): a REPEATABLE READ snapshot taken before the lock would see a stale tail,
 * and the guarded insert would then refuse rather than fork the chain.
 * Inside withAuditBatch on the same handle, the events are chained at once (the first one takes the lock, as
 * above) and inserted when the batch ends.
 */
export async function appendAuditMany(
  tx: Kysely<DB>,
  keyring: Pick<Keyring, 'hmac'>,
  events: readonly AuditEvent[],
): Promise<AppendedAuditEvent[]> {
  if (!tx.isTransaction) throw new Error('appendAudit must run inside the transaction that makes the change');
  const prepared = events.map((e) => prepare(keyring, e));
  if (prepared.length === 0) return [];
  const batch = batches.get(tx);
  if (batch) {
    if (!batch.locked) {
      batch.head = tails.get(tx) ?? (await lockHead(tx));
      batch.locked = true;
    }
    const last = batch.rows[batch.rows.length - 1];
    const rows = chain(last ? { seq: last.seq, hash: last.hash } : batch.head, prepared);
    batch.rows.push(...rows);
    return appended(rows);
  }
  for (let attempt = 0; ; attempt++) {
    const cached = tails.get(tx);
    const rows = chain(cached ?? (await lockHead(tx)), prepared);
    if (await insertRowsAndCheckpoint(tx, rows, GENESIS_HASH)) {
      const last = rows[rows.length - 1]!;
      tails.set(tx, { seq: last.seq, hash: last.hash });
      return appended(rows);
    }
    tails.delete(tx);
    // Under the lock a fresh read is the tail: a second refusal means the checkpoint is not where the chain is.
    if (!cached || attempt > 0) throw new Error('audit: the checkpoint moved under the append lock');
  }
}

/**
 * `tx` has locked the chain's checkpoint and read it in a statement of its own (headForUpdate, nested in a write
 * it had to make anyway): its next append links to `head` without locking again, as after an append of its own.
 */
export function adoptLockedHead(tx: Kysely<DB>, head: ChainHead): void {
  if (!tx.isTransaction) throw new Error('adoptLockedHead needs the transaction that holds the lock');
  tails.set(tx, head);
}

/** Append one event: appendAuditMany of one. */
export async function appendAudit(
  tx: Kysely<DB>,
  keyring: Pick<Keyring, 'hmac'>,
  event: AuditEvent,
): Promise<AppendedAuditEvent> {
  return (await appendAuditMany(tx, keyring, [event]))[0]!;
}

/**
 * Run `fn` with the audit events it appends through `tx` (the same handle, by any path: appendAudit,
 * appendAuditMany, a service's audit dependency) written together: each append still validates its event, takes
 * the chain's lock at the first one (the lock order of the code it wraps does not change) and returns its seq and
 * hash, but the rows are inserted, with the checkpoint moved, in one statement once `fn` has returned. When `fn`
 * throws, nothing of the batch is written (the caller's transaction is rolling back). Nested batches on the
 * same handle are one batch (the outermost writes). A checkpoint moved meanwhile (an append through another
 * handle of the transaction, a savepoint rolled back) is refused: the transaction fails rather than fork the chain.
 */
export function withAuditBatch<T>(tx: Kysely<DB>, fn: () => Promise<T>): Promise<T> {
  const open = (): Batch => ({ head: undefined, locked: false, rows: [] });
  return withHeldWrites(batches, tx, open, fn, async ({ rows }) => {
    if (rows.length === 0) return;
    if (!(await insertRowsAndCheckpoint(tx, rows, GENESIS_HASH))) {
      tails.delete(tx);
      throw new Error('audit: the checkpoint moved while a batch of this transaction was pending');
    }
    const last = rows[rows.length - 1]!;
    tails.set(tx, { seq: last.seq, hash: last.hash });
  });
}

/** Audit rows taken out of a batch, for the caller's own statement to insert: see takeHeldAudit. */
export interface HeldAudit {
  /** The bodies of the CTEs `audit_rows` and `audit_moved`, in this order, to put in the statement. */
  ctes: { audit_rows: AuditCte; audit_moved: AuditCte };
  /** After the statement: audit_moved's `seq` as text (null when it wrote nothing). Throws when nothing was written. */
  written(movedTo: string | null | undefined): void;
}

/**
 * Whether the open withAuditBatch on `tx` holds the chain's lock already (an event appended, or a head adopted):
 * appending to it then writes nothing and takes no lock, so it may come before writes that would otherwise precede
 * it without changing the transaction's lock order.
 */
export function batchHoldsChainLock(tx: Kysely<DB>): boolean {
  const batch = batches.get(tx);
  return batch !== undefined && (batch.locked || tails.has(tx));
}

/**
 * Take the events the open withAuditBatch on `tx` holds, for a statement the caller makes anyway to insert as
 * well (one round trip fewer): undefined when there is no batch, nothing held, or the chain's lock not yet taken.
 * Events appended afterwards go on after the taken ones. The caller must report its statement's outcome with
 * `written`; when its statement fails, so does the transaction, and the taken events go with it.
 */
export function takeHeldAudit(tx: Kysely<DB>): HeldAudit | undefined {
  const batch = batches.get(tx);
  if (!batch || !batch.locked || batch.rows.length === 0) return undefined;
  const rows = batch.rows;
  const last = rows[rows.length - 1]!;
  batch.rows = [];
  batch.head = { seq: last.seq, hash: last.hash };
  return {
    ctes: auditInsertCtes(rows, GENESIS_HASH),
    written(movedTo) {
      if (!auditWritten(rows, movedTo)) {
        tails.delete(tx);
        throw new Error('audit: the checkpoint moved while a batch of this transaction was pending');
      }
      tails.set(tx, { seq: last.seq, hash: last.hash });
    },
  };
}
