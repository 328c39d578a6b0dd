import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { AppContext } from '../../app/context.js';
import type { Alerter } from '../alerts/alerts.js';
import { finishIfDone } from '../dsr/finish-request.js';
import { releaseWaitingTasks } from '../dsr/plan-system-tasks.js';
import { requestIdentities } from '../dsr/request-identities.js';
import type { DsrDeps } from '../dsr/dsr.types.js';
import type { DataMap } from './data-map.js';
import { classify, PermanentError, RetryableError } from './errors.js';
import { identifiersOf } from './identifiers.js';
import type { EraseOutcome } from './port.js';

export interface ConnectorTaskJob {
  requestId: string;
  systemId: string;
}

export type RunnerDeps = Pick<AppContext, 'database' | 'keyring' | 'logger' | 'metrics' | 'clock'> & {
  dataMap: DataMap;
  dsr: DsrDeps;
  alerter: Alerter;
};

/** How long what a system returns for an access request is kept (sealed) for the person to download. */
export const EXPORT_TTL_DAYS = 30;

export function exportAad(requestId: string, systemId: string): string {
  return `request_exports.body.${requestId}.${systemId}`;
}

type TaskResult = 'done' | 'pending' | 'skipped';

/**
 * Carry one request to one system of the data map: erase and read back, or export. Idempotent: a task that is
 * done (or whose request ended) is skipped, and erasing twice is harmless. A retryable failure throws so the
 * queue backs off and tries again; after the last attempt, or at once for a permanent failure, the task is
 * dead: the request fails, an alert goes out, and the job waits in the dead-letter queue for a replay.
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
  if (!request || !task || task.status === 'done' || task.status === 'skipped' || request.status === 'denied')
    return 'skipped';
  const identities = requestIdentities(deps.keyring, request);
  const spec = deps.dataMap.spec(job.systemId);
  const started = Date.now();
  await db
    .updateTable('request_tasks')
    .set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), updated_at: new Date() }))
    .where('request_id', '=', job.requestId)
    .where('system_id', '=', job.systemId)
    .execute();
  try {
    if (identities.length === 0) throw new PermanentError('request_has_no_identities');
    const connector = deps.dataMap.get(job.systemId);
    if (!connector || !spec) throw new PermanentError('system_not_in_data_map');
    const ids = identifiersOf(identities);
    if (request.type === 'erasure') {
      const outcomes = await connector.erase(ids, { requestId: request.id });
      if (outcomes.some((o) => o.action === 'pending')) {
        await recordOutcome(deps, job, outcomes, 'running', Date.now() - started);
        return 'pending';
      }
      const left = (await connector.verify(ids)).reduce((n, l) => n + l.count, 0);
      if (left > 0) throw new RetryableError('verify_found_remaining');
      await recordOutcome(deps, job, outcomes, 'done', Date.now() - started);
    } else if (request.type === 'access') {
      const records = await connector.export(ids);
      const n = records.reduce((k, r) => k + r.records.length, 0);
      await db
        .insertInto('request_exports')
        .values({
          request_id: request.id,
          system_id: job.systemId,
          body: deps.keyring.sealSecret(JSON.stringify(records), exportAad(request.id, job.systemId)),
          expires_at: new Date(deps.clock().getTime() + EXPORT_TTL_DAYS * 86_400_000),
        })
        .onConflict((oc) =>
          oc.columns(['request_id', 'system_id']).doUpdateSet({ body: (eb) => eb.ref('excluded.body') }),
        )
        .execute();
      await recordOutcome(deps, job, [], 'done', Date.now() - started, { exported: n });
    } else {
      await recordOutcome(deps, job, [], 'done', Date.now() - started);
    }
    deps.metrics.connectorTasks.inc({ type: spec.type, outcome: 'done' });
    return 'done';
  } catch (raw) {
    const err = classify(raw);
    const final = err instanceof PermanentError || attempt.retryCount >= attempt.retryLimit;
    await db
      .updateTable('request_tasks')
      .set({ status: final ? 'dead' : 'failed', last_error: err.code, updated_at: new Date() })
      .where('request_id', '=', job.requestId)
      .where('system_id', '=', job.systemId)
      .execute();
    deps.metrics.connectorTasks.inc({ type: spec?.type ?? 'unknown', outcome: final ? 'dead' : 'retry' });
    deps.logger.warn(
      { request: job.requestId, system: job.systemId, error: err.code, attempt: attempt.retryCount, final },
      'system task failed',
    );
    if (!final) throw err;
    await db.transaction().execute((tx) => finishIfDone(tx, deps.dsr, job.requestId));
    await deps.alerter.send({
      kind: 'task_dead_lettered',
      text: `request ${request.reference}: system ${job.systemId} failed (${err.code}) and is in the dead-letter queue`,
      onceKey: `${job.requestId}:${job.systemId}:${task.attempts + 1}`,
    });
    if (err instanceof RetryableError) throw err; // the queue moves it to the dead-letter queue itself
    return 'dead';
  }
}

async function recordOutcome(
  deps: RunnerDeps,
  job: ConnectorTaskJob,
  outcomes: EraseOutcome[],
  status: 'done' | 'running',
  durationMs: number,
  extra: Record<string, number> = {},
): Promise<void> {
  const counts: Record<string, number> = { ...extra };
  for (const o of outcomes) counts[o.action] = (counts[o.action] ?? 0) + o.count;
  await deps.database.db.transaction().execute(async (tx: Kysely<DB>) => {
    await tx
      .updateTable('request_tasks')
      .set({
        status,
        counts: JSON.stringify(counts),
        last_error: null,
        updated_at: new Date(),
        completed_at: status === 'done' ? new Date() : null,
      })
      .where('request_id', '=', job.requestId)
      .where('system_id', '=', job.systemId)
      .execute();
    const request = await tx
      .selectFrom('privacy_requests')
      .select(['tenant_id', 'subject_ref', 'type'])
      .where('id', '=', job.requestId)
      .executeTakeFirstOrThrow();
    if (request.type === 'erasure') {
      for (const o of outcomes) {
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
            duration_ms: Math.round(durationMs),
          },
        });
      }
    }
    if (status === 'done') {
      await releaseWaitingTasks(tx, deps.dsr, job.requestId);
      await finishIfDone(tx, deps.dsr, job.requestId);
    }
  });
}
