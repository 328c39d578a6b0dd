import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { insertRowAndCheckpoint, lockHead, type ChainHead } from './audit.repo.js';
import { GENESIS_HASH, chainHash, type ChainRecord } from './chain-hash.js';
import { AUDIT_KEY_VERSION, auditKeyVersionOf, auditSubjectRef } from './subject-ref.js';
import { validateAuditEvent, type AuditEvent } from './validate-event.js';

export interface AppendedAuditEvent {
  seq: number;
  id: string;
  hash: string;
}

/**
 * The tail each open transaction last wrote, so its next append needs one statement: the transaction holds the
 * checkpoint's lock until it ends, so no one else can move the tail meanwhile. Keyed by the transaction object
 * (gone with it); an append through another handle of the same transaction just locks and reads again.
 */
const tails = new WeakMap<Kysely<DB>, ChainHead>();

/**
 * Append one event to the audit chain inside the caller's transaction: the one that makes the change, so the
 * event exists exactly when the change does (a rollback leaves no trace). The transaction's first append locks
 * the checkpoint in audit_head (the tail last written) and links to it; later appends of the same transaction
 * link to its own last row. The insert moves the checkpoint in the same statement, and only if the checkpoint
 * is still the tail the row links to. Linking to the checkpoint rather than to whatever row is last means a
 * deleted tail is not papered over by the next append. seq is the tail's + 1: dense under the lock.
 * Needs READ COMMITTED (the default): a REPEATABLE READ snapshot taken before the lock would see a stale tail,
 * and the guarded insert would then refuse rather than fork the chain.
 */
export async function appendAudit(
  tx: Kysely<DB>,
  keyring: Pick<Keyring, 'hmac'>,
  event: AuditEvent,
): Promise<AppendedAuditEvent> {
  if (!tx.isTransaction) throw new Error('appendAudit must run inside the transaction that makes the change');
  const v = validateAuditEvent(event);
  const subject_ref =
    v.subject === undefined
      ? null
      : 'subjectRef' in v.subject
        ? v.subject.subjectRef
        : auditSubjectRef(keyring, { subjectId: v.subject.subjectId });
  const id = crypto.randomUUID();
  for (let attempt = 0; ; attempt++) {
    const cached = tails.get(tx);
    const head = cached ?? (await lockHead(tx));
    const prev_hash = head?.hash ?? GENESIS_HASH;
    const record: ChainRecord = {
      seq: (head?.seq ?? 0) + 1,
      id,
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
    const hash = chainHash(prev_hash, record);
    if (await insertRowAndCheckpoint(tx, { ...record, prev_hash, hash }, GENESIS_HASH)) {
      tails.set(tx, { seq: record.seq, hash });
      return { seq: record.seq, id, hash };
    }
    tails.delete(tx);
    // Under the lock a fresh read is the tail: a second refusal means the checkpoint is not where the chain is.
    if (!cached || attempt > 0) throw new Error('audit: the checkpoint moved under the append lock');
  }
}
