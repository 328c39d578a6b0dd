import type { Kysely } from 'kysely';
import type { DB, PrivacyRequestStatus } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import { blindIndex } from '../subjects/index.js';
import type { ErasureScope } from './categories.js';
import { createDsrRepo, type PrivacyRequestRow } from './dsr.repo.js';
import type { DsrDeps } from './dsr.types.js';
import { eraseOwnData } from './erase-own-data.js';
import { applyRectification } from './apply-rectification.js';
import { finishIfDone } from './finish-request.js';
import { planSystemTasks } from './plan-system-tasks.js';
import { requestIdentities } from './request-identities.js';

const repo = createDsrRepo();

/** The system id of flowguard's own store in request tasks and proofs. */
export const OWN_STORE = 'flowguard';

/**
 * Carry out a verified request inside the caller's transaction (which holds the request row: it wrote it):
 * the own-store part now, one task per data-map system queued in the same transaction. The request completes
 * when every task has: at once when there is no data-map system, else when the last system's task does.
 */
export async function executeRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  request: PrivacyRequestRow,
): Promise<PrivacyRequestStatus> {
  if (request.status !== 'executing') await repo.update(tx, request.id, { status: 'executing' });
  const subjectId = request.subject_id;
  const now = deps.clock();
  let counts: Record<string, number> = {};

  switch (request.type) {
    case 'erasure': {
      if (subjectId) {
        const tenant = await deps.tenants.get(request.tenant_id);
        counts = {
          ...(await eraseOwnData(tx, deps, {
            tenantId: request.tenant_id,
            subjectId,
            scope: request.scope as ErasureScope,
            rememberForReengagement: tenant.settings.reengagement.enabled,
          })),
        };
      }
      await deps.audit(tx, {
        tenantId: request.tenant_id,
        type: 'erasure.own_store',
        actor: { type: 'system' },
        subject: { subjectRef: request.subject_ref },
        requestId: request.id,
        data: { scope: request.scope as ErasureScope, counts },
      });
      break;
    }
    case 'opt_out': {
      counts = await recordOptOut(tx, deps, request, requestIdentities(deps.keyring, request));
      break;
    }
    case 'restriction': {
      if (subjectId) {
        const r = await tx
          .updateTable('subjects')
          .set({ restricted: true })
          .where('id', '=', subjectId)
          .executeTakeFirst();
        counts = { restricted: Number(r.numUpdatedRows) };
      }
      break;
    }
    case 'rectification': {
      counts = subjectId ? await applyRectification(tx, deps, request, subjectId) : {};
      break;
    }
    case 'access': {
      // The bundle is built when it is downloaded, from the data as it is then; nothing is copied here.
      counts = subjectId ? await countHeld(tx, subjectId) : {};
      break;
    }
  }
  const systems = await planSystemTasks(tx, deps, request);
  const own = {
    request_id: request.id,
    system_id: OWN_STORE,
    action: request.type,
    status: 'done' as const,
    counts,
    completed_at: now,
  };
  // Tasks just queued hold the request open; without any, it is done now (no need to read back what we wrote),
  // and the own-store task goes in with the request's completion.
  if (systems > 0) {
    await repo.upsertTask(tx, own);
    return 'executing';
  }
  return finishIfDone(tx, deps, request.id, {
    request: { ...request, status: 'executing' },
    tasks: [{ ...own, queued_at: null }],
    write: own,
  });
}

const OPTOUT_SOURCE: Record<string, 'stop_keyword' | 'user_preferences' | 'flow' | 'api' | 'cli' | 'admin'> =
  {
    keyword: 'stop_keyword',
    preference: 'user_preferences',
    flow: 'flow',
    webhook: 'flow',
    api: 'api',
    cli: 'cli',
    admin: 'admin',
  };

async function recordOptOut(
  tx: Kysely<DB>,
  deps: DsrDeps,
  request: PrivacyRequestRow,
  identities: Identity[],
): Promise<Record<string, number>> {
  let suppressed = 0;
  for (const identity of identities) {
    const r = await tx
      .insertInto('suppressions')
      .values({
        tenant_id: request.tenant_id,
        kind: identity.kind,
        blind_index: blindIndex(deps.keyring, request.tenant_id, identity),
        reason: `request:${request.channel}`,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'blind_index']).doNothing())
      .executeTakeFirst();
    suppressed += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  if (request.subject_id) {
    await tx
      .updateTable('subjects')
      .set({ marketing_opt_out: true })
      .where('id', '=', request.subject_id)
      .execute();
  }
  await deps.audit(tx, {
    tenantId: request.tenant_id,
    type: 'optout.recorded',
    actor: { type: 'system' },
    subject: { subjectRef: request.subject_ref },
    requestId: request.id,
    data: { source: OPTOUT_SOURCE[request.channel] ?? 'api', identities: identities.length },
  });
  return { suppressions_added: suppressed };
}

async function countHeld(tx: Kysely<DB>, subjectId: string): Promise<Record<string, number>> {
  const tables = ['identities', 'messages', 'flow_responses', 'media', 'message_statuses'] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const row = await tx
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('subject_id', '=', subjectId)
      .executeTakeFirst();
    out[table] = Number(row?.n ?? 0);
  }
  return out;
}
