import type { AppContext } from '../../app/context.js';
import type { Alerter } from '../alerts/alerts.js';
import { storeSystemExport } from '../dsr/export-systems.js';
import { finishIfDone } from '../dsr/finish-request.js';
import { requestIdentities } from '../dsr/request-identities.js';
import type { DsrDeps } from '../dsr/dsr.types.js';
import type { DataMap } from './data-map.js';
import { deadLetterName } from '../../jobs/catalog.js';
import { classify, PermanentError, RetryableError } from './errors.js';
import { identifiersOf } from './identifiers.js';
import { awaitingConfirmation, recordOutcome, type RecordedOutcome, type TaskKey } from './record-outcome.js';

export type ConnectorTaskJob = TaskKey;

export type RunnerDeps = Pick<AppContext, 'database' | 'keyring' | 'logger' | 'metrics' | 'clock'> & {
  dataMap: DataMap;
  dsr: DsrDeps;
  alerter: Alerter;
};

type TaskResult = 'done' | 'pending' | 'skipped';

/** The error code of an attempt that found an accepted erasure still unconfirmed (retried, not a failure). */
const AWAITING_CONFIRMATION = 'awaiting_confirmation';

/** Statuses a job no longer works on: a dead task runs again only when its dead letter is replayed. */
const SETTLED = ['done', 'skipped', 'dead'] as const;

/**
 * Carry one request to one system of the data map: erase and read back, or export. Idempotent: a task that is
 * settled (or whose request was denied) is skipped, and erasing twice is harmless. A retryable failure throws
 * so the queue backs off and tries again; after the last attempt, or at once for a permanent failure, the task
 * is dead: the request fails, an alert goes out, and the job waits in the dead-letter queue for a replay.
 *
 * A system that accepts an erasure to confirm it later (http 202) leaves the task `running`; the job is
 * retried with the queue's backoff and each later attempt reads back (verify) instead of asking again: zero
 * left completes the task even if the confirmation is lost. The confirmation itself (http-callback.routes.ts)
 * completes it at any time. If the erasure was only just accepted on the job's last attempt, the task stays
 * `running` for the callback and the deadline alerts; if the read-back still finds data on the last
 * attempt, the task is dead and goes to the dead-letter queue (a replay asks the system again).
 */
export async function runConnectorTask(
  deps: RunnerDeps,
  job: ConnectorTaskJob,
  attempt: { retryCount: number; retryLimit: number },
): Promise<TaskResult | 'dead'> {
  const db = deps.database.db;
  const request = await db
    .selectFrom('privacy_requests')
    .selectAll()
    .where('id', '=', job.requestId)
    .executeTakeFirst();
  const task = await db
    .selectFrom('request_tasks')
    .selectAll()
    .where('request_id', '=', job.requestId)
    .where('system_id', '=', job.systemId)
    .executeTakeFirst();
  if (!request || !task || SETTLED.some((s) => s === task.status) || request.status === 'denied')
    return 'skipped';
  const awaiting = request.type === 'erasure' && awaitingConfirmation(task);
  const identities = requestIdentities(deps.keyring, request);
  const spec = deps.dataMap.spec(job.systemId);
  const started = Date.now();
  const final = attempt.retryCount >= attempt.retryLimit;
  const claimed = await db
    .updateTable('request_tasks')
    .set((eb) => ({
      status: 'running',
      attempts: eb('attempts', '+', 1),
      updated_at: new Date(),
      ...(awaiting ? {} : { counts: '{}' }),
    }))
    .where('request_id', '=', job.requestId)
    .where('system_id', '=', job.systemId)
    .where('status', 'not in', SETTLED)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 0) return 'skipped';
  const record = (outcomes: RecordedOutcome[], status: 'done' | 'running', extra?: Record<string, number>) =>
    db
      .transaction()
      .execute((tx) =>
        recordOutcome(tx, deps, job, { outcomes, status, durationMs: Date.now() - started, extra }),
      );
  try {
    if (identities.length === 0) throw new PermanentError('request_has_no_identities');
    const connector = deps.dataMap.get(job.systemId);
    if (!connector || !spec) throw new PermanentError('system_not_in_data_map');
    const ids = identifiersOf(identities);
    let recorded = true;
    if (request.type === 'erasure' && awaiting) {
      // Accepted earlier, not confirmed yet: read back instead of asking the system again.
      const left = (await connector.verify(ids)).reduce((n, l) => n + l.count, 0);
      if (left > 0) throw new RetryableError(AWAITING_CONFIRMATION);
      recorded = await record([{ where: 'read-back', action: 'verified', count: 0 }], 'done');
    } else if (request.type === 'erasure') {
      const outcomes = await connector.erase(ids, { requestId: request.id });
      if (outcomes.some((o) => o.action === 'pending')) {
        await record(outcomes, 'running');
        if (!final) throw new RetryableError(AWAITING_CONFIRMATION); // counted and logged below
        deps.metrics.connectorTasks.inc({ type: spec.type, outcome: 'pending' });
        return 'pending';
      }
      const left = (await connector.verify(ids)).reduce((n, l) => n + l.count, 0);
      if (left > 0) throw new RetryableError('verify_found_remaining');
      recorded = await record(outcomes, 'done');
    } else if (request.type === 'access') {
      const exported = await connector.export(ids);
      await storeSystemExport(db, deps, { requestId: request.id, systemId: job.systemId, exported });
      const n = exported.reduce((k, r) => k + r.records.length, 0);
      recorded = await record([], 'done', { exported: n });
    } else {
      recorded = await record([], 'done');
    }
    if (!recorded) return 'skipped';
    deps.metrics.connectorTasks.inc({ type: spec.type, outcome: 'done' });
    return 'done';
  } catch (raw) {
    const err = classify(raw);
    const waiting = err.code === AWAITING_CONFIRMATION;
    const dead = err instanceof PermanentError || final;
    const fields = {
      request: job.requestId,
      system: job.systemId,
      error: err.code,
      attempt: attempt.retryCount,
    };
    if (!dead) {
      const updated = await db
        .updateTable('request_tasks')
        .set({ status: waiting ? 'running' : 'failed', last_error: err.code, updated_at: new Date() })
        .where('request_id', '=', job.requestId)
        .where('system_id', '=', job.systemId)
        .where('status', 'not in', SETTLED)
        .executeTakeFirst();
      // Settled meanwhile (a confirmation arrived while this attempt ran): nothing left to retry.
      if (Number(updated.numUpdatedRows) === 0) return 'skipped';
      deps.metrics.connectorTasks.inc({
        type: spec?.type ?? 'unknown',
        outcome: waiting ? 'pending' : 'retry',
      });
      if (waiting) deps.logger.info(fields, 'system task awaiting confirmation');
      else deps.logger.warn({ ...fields, final: false }, 'system task failed');
      throw err; // the queue backs off and tries again
    }
    // Dead: in one transaction the task dies, its dead letter is queued for a replay, and the request fails
    // (unless other tasks still run), so a request shown as failed always has its dead letter waiting.
    const killed = await db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('request_tasks')
        .set({ status: 'dead', last_error: err.code, updated_at: new Date() })
        .where('request_id', '=', job.requestId)
        .where('system_id', '=', job.systemId)
        .where('status', 'not in', SETTLED)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await deps.dsr.queue.send(tx, deadLetterName('connector.run'), {
        requestId: job.requestId,
        systemId: job.systemId,
      });
      await finishIfDone(tx, deps.dsr, job.requestId);
      return true;
    });
    if (!killed) return 'skipped';
    deps.metrics.connectorTasks.inc({ type: spec?.type ?? 'unknown', outcome: 'dead' });
    deps.logger.warn({ ...fields, final: true }, 'system task failed');
    await deps.alerter.send({
      kind: 'task_dead_lettered',
      text: `request ${request.reference}: system ${job.systemId} failed (${err.code}) and is in the dead-letter queue`,
      onceKey: `${job.requestId}:${job.systemId}:${task.attempts + 1}`,
    });
    return 'dead';
  }
}
