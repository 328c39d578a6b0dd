import { sql, type Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { appendAudit } from '../audit/index.js';
import {
  hmacVersionUsage,
  total,
  underVersion,
  type HmacUsage,
  type VersionedPurpose,
} from './hmac-usage.js';
import type { KeyStore } from './key-store.js';

/** How often serving processes re-read the purpose keys from a shared (PostgreSQL) key store. */
export const KEY_REFRESH_SECONDS = 30;
/**
 * How long a new version is held for lookups before it is written, when other processes share the key store:
 * every process re-reads the keys within KEY_REFRESH_SECONDS, so by then each one finds values under the new
 * version before any process writes one (no person becomes two subjects across instances).
 */
export const SHARED_ACTIVATION_SECONDS = 4 * KEY_REFRESH_SECONDS;

export interface HmacVersionDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  keyStore: Pick<KeyStore, 'kind' | 'getMaterial' | 'putMaterial' | 'deleteMaterial'>;
  /** The tenant system events are recorded under. */
  tenantId: string;
  clock?: () => Date;
}

export interface StartedVersion {
  purpose: VersionedPurpose;
  version: string;
  /** From then on new values use it (lookups search it at once). */
  activeFrom: Date;
  held: string[];
}

/** Re-read the purpose keys from the store (the source of truth), never from what this process thinks. */
async function reload(deps: Pick<HmacVersionDeps, 'keyring' | 'keyStore'>): Promise<void> {
  const material = await deps.keyStore.getMaterial();
  if (material.length > 0) deps.keyring.loadPurposeKeys(material);
}

/**
 * Start a new version of an HMAC key: a random key, stored wrapped in the key store, held for lookups at once
 * and written from `activeFrom` on. The embedded store has one process, which starts writing it at once; a
 * shared store waits SHARED_ACTIVATION_SECONDS unless told otherwise (all instances stopped, say).
 */
export async function startHmacVersion(
  deps: HmacVersionDeps,
  opts: { purpose: VersionedPurpose; activateInSeconds?: number | undefined },
): Promise<StartedVersion> {
  const now = (deps.clock ?? (() => new Date()))();
  await reload(deps);
  const pending = deps.keyring
    .hmacVersions(opts.purpose)
    .find((v) => v.activeFrom !== undefined && v.activeFrom > now);
  if (pending) {
    throw new AppError(
      'CONFLICT',
      { purpose: opts.purpose, version: pending.version },
      `${opts.purpose} ${pending.version} is not written yet (from ${pending.activeFrom!.toISOString()}): wait for it first`,
    );
  }
  const delay = opts.activateInSeconds ?? (deps.keyStore.kind === 'postgres' ? SHARED_ACTIVATION_SECONDS : 0);
  if (!Number.isInteger(delay) || delay < 0 || delay > 86_400) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'activate-in' },
      '--activate-in must be 0..86400 seconds',
    );
  }
  const activeFrom = new Date(now.getTime() + delay * 1000);
  const sealed = deps.keyring.sealNewPurposeKey(opts.purpose, activeFrom);
  // `if-absent`: a concurrent start of the same version label keeps the first; both then load the stored one.
  await deps.keyStore.putMaterial([sealed], 'if-absent');
  await reload(deps);
  const held = deps.keyring.hmacVersions(opts.purpose);
  await deps.db.transaction().execute((tx) =>
    appendAudit(tx, deps.keyring, {
      type: 'keys.hmac_version_started',
      tenantId: deps.tenantId,
      actor: { type: 'cli' },
      data: { purpose: opts.purpose, version: sealed.version, active_in_ms: delay * 1000 },
    }),
  );
  return { purpose: opts.purpose, version: sealed.version, activeFrom, held: held.map((v) => v.version) };
}

export interface RetiredVersion {
  purpose: VersionedPurpose;
  version: string;
  /** Unindexable rows deleted with it (`forgetUnindexable`). */
  forgotten: Record<string, number>;
  /** Rows that keep their reference, anonymous from now on. */
  anonymised: Record<string, number>;
}

const versionNumber = (v: string) => Number(v.slice(1)) || 0;

/**
 * Destroy an old version of an HMAC key once nothing needs it: no row left under it that re-indexing moves or
 * that still expires by itself. Blind indexes of people flowguard keeps no plaintext of (the STOP of an erased
 * person, re-engagement entries) cannot be moved: they are deleted with the key only with `forgetUnindexable`.
 */
export async function retireHmacVersion(
  deps: HmacVersionDeps,
  opts: { purpose: VersionedPurpose; version: string; forgetUnindexable?: boolean },
): Promise<RetiredVersion> {
  const { purpose, version } = opts;
  await reload(deps);
  const held = deps.keyring.hmacVersions(purpose).map((v) => v.version);
  if (!held.includes(version)) {
    throw new AppError('NOT_FOUND', { purpose, version }, `no ${purpose} key ${version} is held`);
  }
  const current = deps.keyring.hmacVersion(purpose);
  if (versionNumber(version) >= versionNumber(current)) {
    throw new AppError(
      'CONFLICT',
      { purpose, version },
      `${purpose} ${version} is ${version === current ? 'the version new values are written under' : 'not written yet'}: only an older version can be retired`,
    );
  }
  const usage: HmacUsage = await hmacVersionUsage(deps.db, purpose, version);
  if (total(usage.blocking) > 0) {
    throw new AppError(
      'CONFLICT',
      { purpose, version, ...usage.blocking },
      `${purpose} ${version} is still used: ${describe(usage.blocking)}; run keys reindex-hmac --purpose ${purpose} (rows that expire by themselves go with retention)`,
    );
  }
  if (total(usage.unindexable) > 0 && !opts.forgetUnindexable) {
    throw new AppError(
      'CONFLICT',
      { purpose, version, ...usage.unindexable },
      `${purpose} ${version} is still used by entries flowguard keeps no plaintext of: ${describe(usage.unindexable)}; pass --forget-unindexable to delete them with the key`,
    );
  }
  const forgotten: Record<string, number> = {};
  await deps.db.transaction().execute(async (tx) => {
    for (const table of Object.keys(usage.unindexable) as ('suppressions' | 'erased_identities')[]) {
      const r =
        await sql`delete from ${sql.table(table)} where ${underVersion('blind_index', purpose, version)}`.execute(
          tx,
        );
      forgotten[table] = Number(r.numAffectedRows ?? 0n);
    }
    await appendAudit(tx, deps.keyring, {
      type: 'keys.hmac_version_retired',
      tenantId: deps.tenantId,
      actor: { type: 'cli' },
      data: { purpose, version, forgotten: total(forgotten) },
    });
    // In the same transaction: should destroying the key fail, the forgotten rows are back.
    await deps.keyStore.deleteMaterial(purpose, version);
  });
  await reload(deps);
  return { purpose, version, forgotten, anonymised: usage.anonymised };
}

function describe(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}
