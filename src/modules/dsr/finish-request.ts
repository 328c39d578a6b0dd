import type { Kysely } from 'kysely';
import type { DB, PrivacyRequestStatus } from '../../lib/db/schema.js';
import { batchHoldsChainLock, takeHeldAudit, type AuditEvent } from '../audit/index.js';
import { createDsrRepo, type PrivacyRequestRow, type RequestTaskRow, type TaskWrite } from './dsr.repo.js';
import type { DsrDeps } from './dsr.types.js';
import { notificationRow } from './notify.js';
import { messagingRecipient } from './subject-identities.js';
import { requestIdentities } from './request-identities.js';
import { accessReadyParams } from './export-links.js';

const repo = createDsrRepo();

/**
 * Complete the request when every task is done (or failed when one is dead), inside the caller's transaction:
 * record the outcome, clear the identities it no longer needs, write the audit event and queue the
 * confirmation to the person with the request reference.
 */
export async function finishIfDone(
  tx: Kysely<DB>,
  deps: DsrDeps,
  requestId: string,
  /**
   * The request row (locked by this transaction) and its tasks, when the caller has just written them; `write`:
   * one of those tasks, not written yet, which goes in with the request's update (or alone when the request
   * does not end now).
   */
  known?: {
    request: PrivacyRequestRow;
    tasks: Pick<RequestTaskRow, 'status' | 'queued_at' | 'counts'>[];
    write?: TaskWrite;
  },
): Promise<PrivacyRequestStatus> {
  const request = known?.request ?? (await repo.lockById(tx, requestId));
  const settled =
    !request || request.status === 'completed' || request.status === 'failed' || request.status === 'denied';
  const tasks = settled ? [] : (known?.tasks ?? (await repo.tasks(tx, requestId)));
  const dead = tasks.filter((t) => t.status === 'dead');
  // A task still waiting for a dead prerequisite cannot start until that one is replayed: it does not hold
  // the request open (the request fails now and resumes with the replay).
  const active = tasks.filter(
    (t) =>
      t.status === 'running' ||
      t.status === 'failed' ||
      (t.status === 'pending' && (t.queued_at !== null || dead.length === 0)),
  );
  if (settled || active.length) {
    // The request does not end now: the caller's task goes in on its own.
    if (known?.write) await repo.upsertTask(tx, known.write);
    return request?.status ?? 'failed';
  }
  const status: PrivacyRequestStatus = dead.length ? 'failed' : 'completed';
  const now = deps.clock();
  const identities = requestIdentities(deps.keyring, request);
  const totals: Record<string, number> = {};
  for (const t of tasks)
    for (const [k, v] of Object.entries(t.counts ?? {})) totals[k] = (totals[k] ?? 0) + Number(v);
  const recipient = status === 'completed' ? messagingRecipient(identities) : undefined;
  // An access request's answer is the bundle: with a public URL the message carries an expiring link, signed
  // when it is sent (accessReadyParams), so the queued row holds no working credential.
  const publicUrl = deps.config.server.publicUrl;
  const notification =
    recipient &&
    notificationRow(deps.keyring, {
      tenantId: request.tenant_id,
      requestId,
      recipient,
      kind: request.type === 'access' ? 'access_ready' : 'request_completed',
      params: {
        reference: request.reference,
        request_type: request.type,
        ...(request.type === 'access' && publicUrl ? accessReadyParams(publicUrl, now) : {}),
      },
    });
  const event: AuditEvent = {
    tenantId: request.tenant_id,
    actor: { type: 'system' },
    subject: { subjectRef: request.subject_ref },
    requestId,
    ...(status === 'completed'
      ? {
          type: 'request.completed' as const,
          data: {
            type: request.type,
            systems: tasks.length,
            duration_ms: Math.max(0, now.getTime() - new Date(request.received_at).getTime()),
          },
        }
      : {
          type: 'request.failed' as const,
          data: { reason: 'dead_lettered' as const, failed_systems: dead.length },
        }),
  };
  // When the operation's audit batch holds the chain's lock already, the event is chained now (no statement, no
  // lock) and the batch's events are inserted by the finishing statement; otherwise the event is appended after
  // it, so the chain's lock is still taken after the task and request writes.
  const auditFirst = batchHoldsChainLock(tx);
  if (auditFirst) await deps.audit(tx, event);
  await repo.finish(
    tx,
    requestId,
    {
      status,
      completed_at: now,
      // A failed request keeps its sealed identities: replaying its dead-lettered tasks needs them.
      identities: status === 'completed' ? null : request.identities,
      error_code: dead.length ? 'SYSTEMS_DEAD' : null,
      result: JSON.stringify({ systems: tasks.length, dead: dead.length, totals }),
    },
    { task: known?.write, notification, audit: auditFirst ? takeHeldAudit(tx) : undefined },
  );
  if (!auditFirst) await deps.audit(tx, event);
  return status;
}
