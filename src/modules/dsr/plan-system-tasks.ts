import type { Kysely } from 'kysely';
import { mustWaitFor } from '../../config/datamap.js';
import type { DB } from '../../lib/db/schema.js';
import { createDsrRepo, type PrivacyRequestRow } from './dsr.repo.js';
import type { DsrDeps } from './dsr.types.js';

const repo = createDsrRepo();

/** Request types that reach the data-map systems (erasure: delete/mask; access: export). */
const FAN_OUT = new Set(['erasure', 'access']);

async function sendTask(tx: Kysely<DB>, deps: Pick<DsrDeps, 'queue'>, requestId: string, systemId: string) {
  await deps.queue.send(tx, 'connector.run', { requestId, systemId });
  await tx
    .updateTable('request_tasks')
    .set({ queued_at: new Date() })
    .where('request_id', '=', requestId)
    .where('system_id', '=', systemId)
    .execute();
}

/**
 * Inside the request's transaction: one task per data-map system, and a queued job for each task that may
 * start now, so a crash after the commit loses nothing and a rollback leaves no job behind. For an erasure, a
 * system whose rows hold object keys waits until the object stores that read them have finished.
 */
export async function planSystemTasks(
  tx: Kysely<DB>,
  deps: DsrDeps,
  request: PrivacyRequestRow,
): Promise<number> {
  if (!FAN_OUT.has(request.type)) return 0;
  const systems = deps.config.systems;
  for (const system of systems) {
    await repo.upsertTask(tx, {
      request_id: request.id,
      system_id: system.id,
      action: request.type,
      status: 'pending',
    });
  }
  for (const system of systems) {
    const waits = request.type === 'erasure' ? mustWaitFor(systems, system.id) : [];
    if (waits.length === 0) await sendTask(tx, deps, request.id, system.id);
  }
  return systems.length;
}

/**
 * After a task finishes: send the jobs of waiting tasks whose prerequisites are now all done. The waiting
 * task's row is locked first, so when two prerequisites finish at once exactly one of them sends it.
 */
export async function releaseWaitingTasks(
  tx: Kysely<DB>,
  deps: Pick<DsrDeps, 'queue' | 'config'>,
  requestId: string,
): Promise<void> {
  const systems = deps.config.systems;
  const waiting = await tx
    .selectFrom('request_tasks')
    .select('system_id')
    .where('request_id', '=', requestId)
    .where('queued_at', 'is', null)
    .where('status', '=', 'pending')
    .where('system_id', '!=', 'flowguard')
    .execute();
  for (const { system_id } of waiting) {
    const locked = await tx
      .selectFrom('request_tasks')
      .select('queued_at')
      .where('request_id', '=', requestId)
      .where('system_id', '=', system_id)
      .forUpdate()
      .executeTakeFirst();
    if (!locked || locked.queued_at) continue;
    const waits = mustWaitFor(systems, system_id);
    const done = waits.length
      ? await tx
          .selectFrom('request_tasks')
          .select('system_id')
          .where('request_id', '=', requestId)
          .where('system_id', 'in', waits)
          .where('status', '=', 'done')
          .execute()
      : [];
    if (done.length === waits.length) await sendTask(tx, deps, requestId, system_id);
  }
}
