import type { Kysely } from 'kysely';
import type { Config } from '../../config/config.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { AuditEvent } from '../audit/index.js';
import type { KeyStore } from '../keys/index.js';
import {
  countOwnStore,
  requestStates,
  retainedRecords,
  systemProofs,
  type OwnItem,
  type SystemProof,
} from './offboarding-counts.js';
import type { Tenant, TenantRegistry } from './tenant-registry.js';

export interface TenantDeletionReport {
  tenant: string;
  status: 'deleted' | 'pending_systems' | 'systems_failed' | 'interrupted';
  started_at: string;
  finished_at: string;
  own_store: Record<OwnItem, number>;
  keys: { shredded: number; remaining: number };
  requests: { erasure_requests: number; open: number; failed: number; unverified_closed: number };
  systems: SystemProof[];
  retained: { system: string; table?: string; reason: string }[];
  audit_head: { seq: number; hash: string } | null;
}

export interface DeleteTenantDeps {
  db: Kysely<DB>;
  tenants: Pick<TenantRegistry, 'get' | 'reload'>;
  config: Pick<Config, 'defaultTenant' | 'systems'>;
  keyStore: Pick<KeyStore, 'listByTenant' | 'delete'>;
  clock: () => Date;
  audit: (tx: Kysely<DB>, event: AuditEvent) => Promise<unknown>;
  /**
   * Erase one subject through the request engine inside `tx`: an erasure request per person is what carries
   * the erasure to every system of the data map (they find people by identity, not by tenant).
   */
  eraseSubject(tx: Kysely<DB>, tenant: Tenant, subjectId: string): Promise<{ requestId: string }>;
  /** Shred the keys of the tenant's deleted subjects now (the shred job would, a moment later). */
  shredPending(tenantId: string): Promise<number>;
}

/** The counts the `tenant.offboarding_started` event recorded (a re-run finds less left than there was). */
async function countsAtStart(
  db: Kysely<DB>,
  tenantId: string,
  fallback: Record<OwnItem, number>,
): Promise<Record<OwnItem, number>> {
  const row = await db
    .selectFrom('audit_log')
    .select('data')
    .where('tenant_id', '=', tenantId)
    .where('event_type', '=', 'tenant.offboarding_started')
    .orderBy('seq', 'desc')
    .executeTakeFirst();
  const counts = (row?.data as { counts?: Partial<Record<OwnItem, number>> } | undefined)?.counts;
  return counts ? { ...fallback, ...counts } : fallback;
}

async function countShredded(db: Kysely<DB>, tenantId: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('erasure_journal')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('erased_at', '>=', since)
    .where('shredded_at', 'is not', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

async function countErasures(db: Kysely<DB>, tenantId: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('privacy_requests')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('type', '=', 'erasure')
    .where('received_at', '>=', since)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Whether the environment describes the default tenant (it would come back, configured, on the next start). */
export function environmentConfiguresDefault(env: Config['defaultTenant']): boolean {
  return Boolean(
    env.phoneNumberId || env.appSecret || env.accessToken || env.verifyToken || env.businessAccountId,
  );
}

const OPEN_UNVERIFIED = ['received', 'awaiting_verification'] as const;

/**
 * Offboard a tenant (account cancellation): remove every personal datum of its contacts from flowguard's own
 * store, its keys from the key store, and from every data-map system, keeping only what the data map retains
 * under a legal obligation (billing) and the PII-free records (audit trail, request records). Steps, each
 * idempotent so that a re-run (after an interruption, or once the systems are done) carries on:
 * 1. cut routing (no phone number id: webhooks no longer reach it), revoke its API keys and flow tokens;
 * 2. an erasure request per subject, in batches (own store at once; data-map tasks queued) — no message is
 *    sent to the contacts; requests nobody verified are closed;
 * 3. what no subject holds (suppressions, processed events, pending messages, exports) is deleted;
 * 4. keys are shredded (the journal's entries, then any key of the tenant left in the key store);
 * 5. when every request has settled, the tenant row goes and `tenant.deleted` is audited.
 * The report holds counts, system ids, timestamps and the audit head: no personal data.
 */
export async function deleteTenant(
  deps: DeleteTenantDeps,
  input: {
    tenantId: string;
    batchSize?: number;
    signal?: AbortSignal | undefined;
    onProgress?: ((erased: number, total: number) => void) | undefined;
  },
): Promise<TenantDeletionReport> {
  const tenant = await deps.tenants.get(input.tenantId);
  if (tenant.isDefault && environmentConfiguresDefault(deps.config.defaultTenant)) {
    throw new AppError(
      'CONFLICT',
      { tenant: tenant.id },
      'the default tenant is configured by the environment (WHATSAPP_*): remove that configuration first, or it comes back on the next start',
    );
  }
  const startedAt = deps.clock();
  const found = await countOwnStore(deps.db, tenant.id);
  const { offboardingAt, before } = await deps.db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('tenants')
      .select('offboarding_at')
      .where('id', '=', tenant.id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const since = row.offboarding_at ? new Date(row.offboarding_at) : startedAt;
    await tx
      .updateTable('tenants')
      .set({ offboarding_at: since, phone_number_id: null, business_account_id: null, updated_at: startedAt })
      .where('id', '=', tenant.id)
      .execute();
    await tx.deleteFrom('api_keys').where('tenant_id', '=', tenant.id).execute();
    await tx.deleteFrom('flow_tokens').where('tenant_id', '=', tenant.id).execute();
    if (!row.offboarding_at) {
      // What there was when offboarding began: the proof of a later run reports these from the audit trail.
      await deps.audit(tx, {
        tenantId: tenant.id,
        type: 'tenant.offboarding_started',
        actor: { type: 'cli' },
        data: { counts: found },
      });
      return { offboardingAt: since, before: found };
    }
    return { offboardingAt: since, before: await countsAtStart(tx, tenant.id, found) };
  });
  await deps.tenants.reload();

  let erased = 0;
  const batchSize = input.batchSize ?? 100;
  let interrupted = false;
  for (;;) {
    if (input.signal?.aborted) {
      interrupted = true;
      break;
    }
    const ids = await deps.db
      .selectFrom('subjects')
      .select('id')
      .where('tenant_id', '=', tenant.id)
      .orderBy('id')
      .limit(batchSize)
      .execute();
    if (ids.length === 0) break;
    await deps.db.transaction().execute(async (tx) => {
      const requestIds: string[] = [];
      for (const { id } of ids) requestIds.push((await deps.eraseSubject(tx, tenant, id)).requestId);
      // The contacts did not ask: no "your data was deleted" message goes to every one of them.
      await tx.deleteFrom('outbound_notifications').where('request_id', 'in', requestIds).execute();
      // A subject whose erasure joined a request already under way is deleted here (its trigger journals it).
      await tx
        .deleteFrom('subjects')
        .where(
          'id',
          'in',
          ids.map((r) => r.id),
        )
        .execute();
    });
    erased += ids.length;
    input.onProgress?.(erased, before.subjects);
  }

  const unverified = await deps.db
    .updateTable('privacy_requests')
    .set({
      status: 'failed',
      error_code: 'TENANT_DELETED',
      identities: null,
      params: null,
      completed_at: deps.clock(),
    })
    .where('tenant_id', '=', tenant.id)
    .where('status', 'in', OPEN_UNVERIFIED)
    .executeTakeFirst();
  for (const table of [
    'message_statuses',
    'forward_outbox',
    'suppressions',
    'processed_events',
    'outbound_notifications',
    'erased_identities',
  ] as const) {
    await deps.db.deleteFrom(table).where('tenant_id', '=', tenant.id).execute();
  }
  await deps.db
    .deleteFrom('request_exports')
    .where('request_id', 'in', (eb) =>
      eb.selectFrom('privacy_requests').select('id').where('tenant_id', '=', tenant.id),
    )
    .execute();

  await deps.shredPending(tenant.id);
  // Keys of subjects deleted since offboarding began (across runs), plus keys no subject had (a rolled-back
  // first contact) found in the key store now.
  let shredded = await countShredded(deps.db, tenant.id, offboardingAt);
  for (;;) {
    const left = await deps.keyStore.listByTenant(tenant.id, null, 500);
    if (left.length === 0) break;
    const at = deps.clock();
    shredded += await deps.keyStore.delete(
      left.map((k) => ({ ref: k.ref, tenantId: tenant.id, erasedAt: at })),
    );
  }

  const states = await requestStates(deps.db, tenant.id);
  const systems = await systemProofs(deps.db, tenant.id, offboardingAt);
  const dead = systems.some((s) => (s.tasks.dead ?? 0) > 0);
  const status: TenantDeletionReport['status'] = interrupted
    ? 'interrupted'
    : dead
      ? 'systems_failed'
      : states.open > 0
        ? 'pending_systems'
        : 'deleted';
  const erasureRequests = await countErasures(deps.db, tenant.id, offboardingAt);
  if (status === 'deleted') {
    await deps.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('tenants').where('id', '=', tenant.id).execute();
      await deps.audit(tx, {
        tenantId: tenant.id,
        type: 'tenant.deleted',
        actor: { type: 'cli' },
        data: {
          counts: { ...before, data_keys: shredded },
          requests: erasureRequests,
          systems: systems.length,
          duration_ms: Math.max(0, deps.clock().getTime() - offboardingAt.getTime()),
        },
      });
    });
    await deps.tenants.reload();
  }
  const head = await deps.db.selectFrom('audit_head').select(['seq', 'hash']).executeTakeFirst();
  return {
    tenant: tenant.id,
    status,
    started_at: offboardingAt.toISOString(),
    finished_at: deps.clock().toISOString(),
    own_store: before,
    keys: { shredded, remaining: (await deps.keyStore.listByTenant(tenant.id, null, 1)).length },
    requests: {
      erasure_requests: erasureRequests,
      open: states.open,
      failed: states.failed,
      unverified_closed: Number(unverified.numUpdatedRows),
    },
    systems,
    retained: retainedRecords(deps.config.systems),
    audit_head: head ? { seq: Number(head.seq), hash: head.hash } : null,
  };
}
