import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { finishIfDone } from '../dsr/finish-request.js';
import { releaseWaitingTasks } from '../dsr/plan-system-tasks.js';
import type { DsrDeps } from '../dsr/dsr.types.js';
import type { EraseOutcome } from './port.js';

export interface TaskKey {
  requestId: string;
  systemId: string;
}

/** An erase outcome, or `verified`: the read-back found nothing left although the system never confirmed. */
export type RecordedOutcome = Omit<EraseOutcome, 'action'> & { action: EraseOutcome['action'] | 'verified' };

/**
 * A task whose system accepted the erasure and confirms later (http 202): it stays `running` (or `failed`
 * when a later read-back could not reach the system) with a `pending` count until the confirmation comes.
 */
export function awaitingConfirmation(task: { status: string; counts: Record<string, number> | null }) {
  return (task.status === 'running' || task.status === 'failed') && 'pending' in (task.counts ?? {});
}

/**
 * Inside the caller's transaction: record what one system did for one request — the task's counts and
 * status, an `erasure.system` audit event per outcome of an erasure — and, once the task is done, release
 * the tasks that waited for it and complete the request when every task is done. The task row is locked
 * first: a task that is already done or dead is left alone (false), so a late confirmation racing a
 * read-back, or a replayed job, records nothing twice.
 */
export async function recordOutcome(
  tx: Kysely<DB>,
  deps: { dsr: DsrDeps },
  job: TaskKey,
  input: {
    outcomes: RecordedOutcome[];
    status: 'done' | 'running';
    durationMs: number;
    extra?: Record<string, number>;
  },
): Promise<boolean> {
  const task = await tx
    .selectFrom('request_tasks')
    .select('status')
    .where('request_id', '=', job.requestId)
    .where('system_id', '=', job.systemId)
    .forUpdate()
    .executeTakeFirst();
  if (!task || task.status === 'done' || task.status === 'skipped' || task.status === 'dead') return false;
  const counts: Record<string, number> = { ...input.extra };
  for (const o of input.outcomes) counts[o.action] = (counts[o.action] ?? 0) + o.count;
  await tx
    .updateTable('request_tasks')
    .set({
      status: input.status,
      counts: JSON.stringify(counts),
      last_error: null,
      updated_at: new Date(),
      completed_at: input.status === 'done' ? new Date() : null,
    })
    .where('request_id', '=', job.requestId)
    .where('system_id', '=', job.systemId)
    .execute();
  // Lock order: the task, then its request, then the audit chain and other tasks. A dead-letter replay locks
  // the request before the task it revives, so the two cannot wait for each other.
  const request = await tx
    .selectFrom('privacy_requests')
    .select(['tenant_id', 'subject_ref', 'type'])
    .where('id', '=', job.requestId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (request.type === 'erasure') {
    for (const o of input.outcomes) {
      await deps.dsr.audit(tx, {
        tenantId: request.tenant_id,
        type: 'erasure.system',
        actor: { type: 'system' },
        subject: { subjectRef: request.subject_ref },
        requestId: job.requestId,
        data: {
          system_id: job.systemId,
          action: o.action,
          rows: o.count,
          duration_ms: Math.round(input.durationMs),
        },
      });
    }
  }
  if (input.status === 'done') {
    await releaseWaitingTasks(tx, deps.dsr, job.requestId);
    await finishIfDone(tx, deps.dsr, job.requestId);
  }
  return true;
}
