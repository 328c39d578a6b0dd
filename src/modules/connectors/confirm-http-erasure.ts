import type { AppContext } from '../../app/context.js';
import { deadLetterName } from '../../jobs/catalog.js';
import { AppError } from '../../lib/errors.js';
import { discardTaskDeadLetters } from '../dlq/dead-letters.js';
import { finishIfDone } from '../dsr/finish-request.js';
import { requestIdFrom } from '../dsr/request-id.js';
import type { DsrDeps } from '../dsr/dsr.types.js';
import { verifyHttpConfirmation } from './http/verify-confirmation.js';
import { recordOutcome } from './record-outcome.js';

export type CallbackDeps = Pick<
  AppContext,
  'database' | 'dataMap' | 'alerter' | 'clock' | 'logger' | 'metrics'
> & {
  dsr: DsrDeps;
};

export interface ConfirmationResult {
  /** The task's status after the confirmation. */
  status: 'done' | 'dead' | 'skipped';
  /** False when the task was already settled: a repeated confirmation changes nothing. */
  changed: boolean;
}

/**
 * A business's service confirms, on the callback URL, an erasure it accepted earlier (http connector, 202).
 * The body is checked with that system's secret (401 when the signature is bad or the timestamp stale). In one
 * transaction: a `done` report completes the task with the receiver's counts, writes its `erasure.system`
 * events, releases the tasks that waited for it and completes the request when it was the last; a `failed`
 * report kills the task (request failed, a dead letter for the replay, an alert). A task already settled
 * answers the same again (idempotent); a `done` report for a task that was dead-lettered meanwhile revives it.
 */
export async function confirmHttpErasure(
  deps: CallbackDeps,
  input: { systemId: string; requestId: string; rawBody: Buffer | undefined; signature: string | undefined },
): Promise<ConfirmationResult> {
  const spec = deps.dataMap.spec(input.systemId);
  if (!spec || spec.type !== 'http')
    throw new AppError('NOT_FOUND', { resource: 'system' }, 'no such system');
  const checked = verifyHttpConfirmation(
    spec,
    input.rawBody ?? Buffer.alloc(0),
    input.signature,
    deps.clock().getTime(),
  );
  if (!checked.ok) {
    if (checked.reason === 'bad_signature' || checked.reason === 'stale')
      throw new AppError('BAD_SIGNATURE', { reason: checked.reason }, 'signature invalid or timestamp stale');
    throw new AppError('VALIDATION_FAILED', { reason: checked.reason }, 'not a valid confirmation');
  }
  const requestId = requestIdFrom(input.requestId);
  if (checked.requestId.toLowerCase() !== requestId)
    throw new AppError('VALIDATION_FAILED', { reason: 'wrong_request' }, 'the body names another request');
  const job = { requestId, systemId: spec.id };

  const result = await deps.database.db.transaction().execute(async (tx) => {
    const request = await tx
      .selectFrom('privacy_requests')
      .select(['reference', 'status'])
      .where('id', '=', requestId)
      .executeTakeFirst();
    const task = await tx
      .selectFrom('request_tasks')
      .select(['status', 'action', 'attempts', 'queued_at', 'created_at'])
      .where('request_id', '=', requestId)
      .where('system_id', '=', spec.id)
      .forUpdate()
      .executeTakeFirst();
    if (!request || !task) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
    if (task.action !== 'erasure' || request.status === 'denied')
      throw new AppError('CONFLICT', { status: request.status }, 'no erasure awaits this confirmation');
    if (task.status === 'done' || task.status === 'skipped')
      return { status: task.status, changed: false, reference: request.reference, attempts: task.attempts };
    if (checked.status === 'failed') {
      if (task.status === 'dead')
        return {
          status: 'dead' as const,
          changed: false,
          reference: request.reference,
          attempts: task.attempts,
        };
      await tx
        .updateTable('request_tasks')
        .set({
          status: 'dead',
          last_error: `receiver_${checked.reason}`.slice(0, 60),
          updated_at: new Date(),
        })
        .where('request_id', '=', requestId)
        .where('system_id', '=', spec.id)
        .execute();
      // The operator replays it like any dead task (`flowguard dlq retry`): the erasure is asked for again.
      await deps.dsr.queue.send(tx, deadLetterName('connector.run'), job);
      await finishIfDone(tx, deps.dsr, requestId);
      return {
        status: 'dead' as const,
        changed: true,
        reference: request.reference,
        attempts: task.attempts,
      };
    }
    if (task.status === 'dead') {
      // Confirmed after all: the dead letter is moot and the request may complete after all.
      await discardTaskDeadLetters(tx, job);
      await tx
        .updateTable('request_tasks')
        .set({ status: 'running', updated_at: new Date() })
        .where('request_id', '=', requestId)
        .where('system_id', '=', spec.id)
        .execute();
      await tx
        .updateTable('privacy_requests')
        .set({ status: 'executing', completed_at: null, error_code: null, updated_at: new Date() })
        .where('id', '=', requestId)
        .where('status', '=', 'failed')
        .execute();
    }
    const since = new Date(task.queued_at ?? task.created_at).getTime();
    await recordOutcome(tx, deps, job, {
      outcomes: checked.outcomes,
      status: 'done',
      durationMs: Math.max(0, Date.now() - since),
    });
    return { status: 'done' as const, changed: true, reference: request.reference, attempts: task.attempts };
  });

  if (result.changed) {
    deps.metrics.connectorTasks.inc({ type: 'http', outcome: result.status === 'done' ? 'done' : 'dead' });
    deps.logger.info(
      { request: requestId, system: spec.id, status: result.status },
      'system confirmed erasure',
    );
    if (result.status === 'dead' && checked.status === 'failed') {
      await deps.alerter.send({
        kind: 'task_dead_lettered',
        text: `request ${result.reference}: system ${spec.id} reported the erasure failed (${checked.reason}) and is in the dead-letter queue`,
        onceKey: `${requestId}:${spec.id}:${result.attempts}:reported`,
      });
    }
  }
  return { status: result.status, changed: result.changed };
}
