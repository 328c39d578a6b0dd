import type { AppContext } from '../../app/context.js';
import { RETENTION_CATEGORIES, type RetentionCategory } from '../../config/retention.js';
import { expireLogFiles } from '../../lib/logs/expire-log-files.js';
import { appendAudit, type AuditEventData } from '../audit/index.js';
import { acquireRetentionLease } from './retention-lease.js';
import { auditLogSweep } from './sweep-audit-log.js';
import { sweepInBatches, type BatchSweep, type CategoryResult } from './sweep-batches.js';
import { sweepDataMap } from './sweep-data-map.js';
import { inactiveContactsSweep } from './sweep-inactive-contacts.js';
import { operationalSweeps } from './sweep-operational.js';
import { plainCategories } from './table-sweeps.js';
import { vacuumEmbeddedStore } from './vacuum-embedded.js';

export type RetentionDeps = Pick<
  AppContext,
  | 'database'
  | 'config'
  | 'subjectKeys'
  | 'keyring'
  | 'keyStore'
  | 'tenants'
  | 'dataMap'
  | 'clock'
  | 'logger'
  | 'queue'
>;

export type ProgressListener = (category: string, result: CategoryResult, done: boolean) => void;

export interface RetentionReport {
  /** `busy`: another sweep holds the lease; `incomplete`: the time budget ran out (the next run carries on). */
  status: 'done' | 'incomplete' | 'busy';
  dryRun: boolean;
  /** Per category (own store, `<system>.<collection>` of the data map, `log_files`): expired and deleted. */
  categories: Record<string, CategoryResult>;
  /** Tables of the embedded store vacuumed after the sweep (it has no autovacuum); 0 on PostgreSQL. */
  vacuumedTables: number;
  durationMs: number;
}

/** Categories outside `retention.days`: erased identities (tenant's window), the key store's journal (`erasure_journal`). */
type ExtraCategory = 'erased_identities' | 'key_store_journal';

/**
 * Order: what others depend on least first; erased_identities (re-engagement window, not a config period) is
 * swept with the rest; whole people (inactive_contacts), the erasure journals (after the people they erase
 * now, which are recent anyway) and the audit prefix near the end.
 */
const ORDER: (RetentionCategory | ExtraCategory)[] = [
  'admin_sessions',
  'login_throttle',
  'processed_events',
  'outbound_notifications',
  'alerts_sent',
  'request_exports',
  'flow_tokens',
  'delivery_statuses',
  'media',
  'message_content',
  'messages',
  'flow_responses',
  'pending_forwards',
  'erased_identities',
  'inactive_contacts',
  'request_records',
  'erasure_journal',
  'key_store_journal',
  'audit_log',
];

/**
 * One retention sweep (GDPR Art. 5(1)(e)): every category of the own store past its period, the data-map
 * systems that declare retention, and flowguard's rotated log files; then, on the embedded store, a VACUUM of
 * every table (vacuum-embedded.ts). Dry run: counts only, no lease needed.
 */
export async function runRetention(
  deps: RetentionDeps,
  opts: { dryRun?: boolean; onProgress?: ProgressListener } = {},
): Promise<RetentionReport> {
  const dryRun = opts.dryRun ?? false;
  const db = deps.database.db;
  const policy = deps.config.retention;
  const started = Date.now();
  const lease = dryRun ? undefined : await acquireRetentionLease(db);
  if (!dryRun && !lease) return { status: 'busy', dryRun, categories: {}, vacuumedTables: 0, durationMs: 0 };

  const deadline = started + policy.maxRunMinutes * 60_000;
  let leaseLost = false;
  const shouldStop = () => leaseLost || Date.now() > deadline;
  const categories: Record<string, CategoryResult> = {};
  const notify = opts.onProgress ?? (() => {});
  try {
    const now = deps.clock();
    const tenants = await deps.tenants.all();
    const plain = plainCategories(
      db,
      policy.days,
      now,
      tenants.map((t) => ({
        id: t.id,
        storeMessageContent: t.settings.storeMessageContent,
        reengagementDays: t.settings.reengagement.enabled ? t.settings.reengagement.windowDays : undefined,
      })),
    );
    const defaultTenant = tenants.find((t) => t.isDefault)?.id ?? tenants[0]?.id ?? 'default';
    const ago = (days: number) => new Date(now.getTime() - days * 86_400_000);
    const sweeps: Record<string, BatchSweep | undefined> = {
      ...plain,
      ...operationalSweeps(db, deps.keyStore, {
        adminSessions: ago(policy.days.admin_sessions),
        loginThrottle: ago(policy.days.login_throttle),
        erasureJournal: ago(policy.days.erasure_journal),
      }),
      inactive_contacts: inactiveContactsSweep(db, deps, ago(policy.days.inactive_contacts)),
      audit_log: auditLogSweep(
        db,
        { keyring: deps.keyring, tenantId: defaultTenant },
        ago(policy.days.audit_log),
      ),
    };
    const loop = {
      dryRun,
      batchSize: policy.batchSize,
      pauseMs: policy.pauseMs,
      shouldStop,
      beforeBatch: async () => {
        if (lease && !(await lease.renew())) leaseLost = true;
      },
    };
    for (const name of ORDER) {
      const sweep = sweeps[name];
      if (!sweep) continue;
      categories[name] = await sweepInBatches(sweep, {
        ...loop,
        onProgress: (r, done) => notify(name, r, done),
      });
    }
    Object.assign(
      categories,
      await sweepDataMap(deps.dataMap, {
        now,
        dryRun,
        batchSize: policy.batchSize,
        pauseMs: policy.pauseMs,
        shouldStop,
        onProgress: notify,
      }),
    );
    if (deps.config.logFile) {
      const r = expireLogFiles(deps.config.logFile.path, deps.config.logFile.ttlDays, now, { dryRun });
      categories.log_files = r;
      notify('log_files', r, true);
    }
    const vacuumedTables = dryRun
      ? 0
      : await vacuumEmbeddedStore(deps.database, { pauseMs: policy.pauseMs, shouldStop });
    const report: RetentionReport = {
      status: shouldStop() ? 'incomplete' : 'done',
      dryRun,
      categories,
      vacuumedTables,
      durationMs: Date.now() - started,
    };
    if (!dryRun) await recordSweep(deps, defaultTenant, report);
    return report;
  } finally {
    await lease?.release({ categories, durationMs: Date.now() - started });
  }
}

const OWN = new Set<string>([...RETENTION_CATEGORIES, 'erased_identities', 'key_store_journal']);

/** One `retention.swept` audit event per run that removed anything: counts per category, never who. */
async function recordSweep(deps: RetentionDeps, tenantId: string, report: RetentionReport): Promise<void> {
  const counts: Record<string, number> & AuditEventData<'retention.swept'>['counts'] = {};
  let systemRows = 0;
  for (const [name, r] of Object.entries(report.categories)) {
    if (OWN.has(name)) {
      if (r.deleted > 0) counts[name] = r.deleted;
    } else if (name !== 'log_files') systemRows += r.deleted;
  }
  if (Object.keys(counts).length === 0 && systemRows === 0) return;
  await deps.database.db.transaction().execute((tx) =>
    appendAudit(tx, deps.keyring, {
      type: 'retention.swept',
      tenantId,
      actor: { type: 'system', id: 'retention' },
      data: {
        counts,
        system_rows: systemRows,
        complete: report.status === 'done',
        duration_ms: report.durationMs,
      },
    }),
  );
  deps.logger.info(
    { counts, systemRows, complete: report.status === 'done', durationMs: report.durationMs },
    'retention sweep',
  );
}
