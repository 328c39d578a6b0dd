import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { insertRowAndCheckpoint, lockAppends, reserveNext } from './audit.repo.js';
import { GENESIS_HASH, chainHash, type ChainRecord } from './chain-hash.js';
import { AUDIT_KEY_VERSION, auditSubjectRef } from './subject-ref.js';
import { validateAuditEvent, type AuditEvent } from './validate-event.js';

export interface AppendedAuditEvent {
  seq: number;
  id: string;
  hash: string;
}

/**
 * Append one event to the audit chain inside the caller's transaction: the one that makes the change, so the
 * event exists exactly when the change does (a rollback leaves no trace). Appends are serialised by a
 * transaction-scoped advisory lock; under it, the new row links to the checkpoint in audit_head (the tail it
 * last wrote), and the checkpoint moves to the new row in the same statement as the insert. Linking to the
 * checkpoint rather than to whatever row is last means a deleted tail is not papered over by the next append.
 * Needs READ COMMITTED (the default): a REPEATABLE READ snapshot taken before the lock would link to a stale
 * tail, and the unique prev_hash constraint would then refuse the insert instead of forking the chain.
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
  await lockAppends(tx);
  const { seq, head } = await reserveNext(tx);
  const prev_hash = head?.hash ?? GENESIS_HASH;
  const record: ChainRecord = {
    seq,
    id: crypto.randomUUID(),
    tenant_id: v.tenant_id,
    occurred_at: v.occurred_at,
    actor_type: v.actor_type,
    actor_id: v.actor_id,
    event_type: v.event_type,
    subject_ref,
    key_version: AUDIT_KEY_VERSION,
    request_id: v.request_id,
    data: v.data,
  };
  const hash = chainHash(prev_hash, record);
  await insertRowAndCheckpoint(tx, { ...record, prev_hash, hash });
  return { seq, id: record.id, hash };
}
