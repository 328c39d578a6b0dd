import { sql, type Kysely } from 'kysely';
import { DecryptError, type Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { appendAudit } from '../audit/index.js';
import { blindIndex, type SubjectKeys } from '../subjects/index.js';
import { hmacVersionUsage, type HmacUsage, type VersionedPurpose } from './hmac-usage.js';
import { reindexAdminEmails, rekeyRequestRefs } from './reindex-refs.js';

export interface ReindexProgress {
  step: string;
  moved: number;
  batches: number;
}

export interface ReindexReport {
  status: 'completed' | 'interrupted';
  purpose: VersionedPurpose;
  /** The version rows were moved to: the one new values are written under. */
  version: string;
  /** Rows moved by this run, per kind. */
  moved: Record<string, number>;
  /** Rows this run could not move: no key any more (being erased), or the new value already taken. */
  skipped: Record<string, number>;
  /** What still uses each older version afterwards (what `keys retire-hmac-version` checks). */
  remaining: Record<string, HmacUsage>;
  durationMs: number;
}

export interface ReindexDeps {
  db: Kysely<DB>;
  keyring: Keyring;
  subjectKeys: Pick<SubjectKeys, 'cipher'>;
  tenantId: string;
}

/**
 * Move rows written under older versions of an HMAC key to the version new values use, online, in batches, so
 * the old version can be retired. Progress is the rows themselves (a row moved is under the new version), so a
 * run that stops (Ctrl-C, crash) resumes by running again. Identities are re-computed from their encrypted
 * value (with the person's data key) and take their STOP suppressions along; admin e-mail lookups and request
 * references are re-computed from what they keep sealed. Event ids are not moved: they expire with
 * `retention.days.processed_events`.
 */
export async function reindexHmac(
  deps: ReindexDeps,
  opts: {
    purpose: VersionedPurpose;
    batchSize?: number | undefined;
    signal?: AbortSignal | undefined;
    onProgress?: ((p: ReindexProgress) => void) | undefined;
  },
): Promise<ReindexReport> {
  const started = Date.now();
  const { purpose } = opts;
  const batchSize = opts.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new AppError('VALIDATION_FAILED', { field: 'batch-size' }, '--batch-size must be 1..10000');
  }
  const versions = deps.keyring.hmacVersions(purpose);
  const target = deps.keyring.hmacVersion(purpose);
  const pending = versions.find((v) => v.activeFrom !== undefined && v.activeFrom.getTime() > Date.now());
  if (pending) {
    throw new AppError(
      'CONFLICT',
      { purpose, version: pending.version },
      `${purpose} ${pending.version} is written from ${pending.activeFrom!.toISOString()}: run this after that`,
    );
  }
  const older = versions.map((v) => v.version).filter((v) => v !== target);
  const moved: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  const add = (into: Record<string, number>, key: string, n: number) => {
    if (n > 0) into[key] = (into[key] ?? 0) + n;
  };
  let batches = 0;
  const progress = (step: string) =>
    opts.onProgress?.({ step, moved: Object.values(moved).reduce((a, b) => a + b, 0), batches });

  if (purpose === 'blind-index' && older.length > 0) {
    // Staff e-mail lookups first (a handful of rows): sign-in finds them under the new version within moments.
    const admins = await reindexAdminEmails(deps.db, deps.keyring, target);
    add(moved, 'admin_users', admins.moved);
    add(skipped, 'admin_users', admins.skipped);
    progress('admin_users');
    let after: string | null = null;
    while (!opts.signal?.aborted) {
      const batch = await reindexIdentities(deps, { older, target, after, limit: batchSize });
      if (batch.last === null) break;
      after = batch.last;
      batches++;
      add(moved, 'identities', batch.identities);
      add(moved, 'suppressions', batch.suppressions);
      add(skipped, 'identities_without_key', batch.noKey);
      add(skipped, 'identities_taken', batch.taken);
      progress('identities');
    }
  }
  if ((purpose === 'blind-index' && older.length > 0) || purpose === 'audit-subject') {
    const refs = await rekeyRequestRefs(deps.db, deps.keyring, {
      purpose,
      target,
      batchSize,
      signal: opts.signal,
    });
    add(moved, 'request_refs', refs.moved);
    add(skipped, 'request_refs', refs.skipped);
    progress('request_refs');
  }

  const remaining: Record<string, HmacUsage> = {};
  for (const v of older) remaining[v] = await hmacVersionUsage(deps.db, purpose, v);
  const status = opts.signal?.aborted ? 'interrupted' : 'completed';
  const rows = Object.values(moved).reduce((a, b) => a + b, 0);
  if (rows > 0 || status === 'completed') {
    await deps.db.transaction().execute((tx) =>
      appendAudit(tx, deps.keyring, {
        type: 'keys.hmac_reindexed',
        tenantId: deps.tenantId,
        actor: { type: 'cli' },
        data: { purpose, version: target, rows, complete: status === 'completed' },
      }),
    );
  }
  return { status, purpose, version: target, moved, skipped, remaining, durationMs: Date.now() - started };
}

/**
 * One batch of identity rows under older versions, in id order after `after`: each computed again from its
 * encrypted value, under the same advisory lock a first contact takes on the new index, and moved only if
 * it still holds the value read and no other row holds the new one. The person's STOP suppressions move too.
 */
async function reindexIdentities(
  deps: ReindexDeps,
  b: { older: string[]; target: string; after: string | null; limit: number },
) {
  let q = deps.db
    .selectFrom('identities')
    .select(['id', 'tenant_id', 'subject_id', 'kind', 'blind_index', 'value'])
    .where('blind_index_version', 'in', b.older)
    .orderBy('id')
    .limit(b.limit);
  if (b.after !== null) q = q.where('id', '>', b.after);
  const rows = await q.execute();
  const out = { last: rows.at(-1)?.id ?? null, identities: 0, suppressions: 0, noKey: 0, taken: 0 };
  if (rows.length === 0) return out;
  await deps.db.transaction().execute(async (tx) => {
    const ciphers = new Map<string, Awaited<ReturnType<SubjectKeys['cipher']>>>();
    for (const row of rows) {
      if (!ciphers.has(row.subject_id))
        ciphers.set(row.subject_id, await deps.subjectKeys.cipher(tx, row.subject_id));
      const cipher = ciphers.get(row.subject_id);
      let value: string | undefined;
      try {
        value = cipher?.decrypt(row.value, 'identities', 'value', row.id);
      } catch (err) {
        if (!(err instanceof DecryptError)) throw err;
      }
      if (value === undefined) {
        out.noKey++;
        continue;
      }
      const index = blindIndex(deps.keyring, row.tenant_id, { kind: row.kind, value });
      await sql`select pg_advisory_xact_lock(hashtextextended(${index}, 0))`.execute(tx);
      const r = await sql`update identities set blind_index = ${index}, blind_index_version = ${b.target}
        where id = ${row.id} and blind_index = ${row.blind_index} and not exists (
          select 1 from identities o where o.tenant_id = ${row.tenant_id} and o.kind = ${row.kind}
            and o.blind_index = ${index})`.execute(tx);
      if (Number(r.numAffectedRows ?? 0n) === 0) {
        out.taken++;
        continue;
      }
      out.identities++;
      const s = await sql`update suppressions set blind_index = ${index}
        where tenant_id = ${row.tenant_id} and kind = ${row.kind} and blind_index = ${row.blind_index}
          and not exists (select 1 from suppressions o where o.tenant_id = ${row.tenant_id}
            and o.kind = ${row.kind} and o.blind_index = ${index})`.execute(tx);
      out.suppressions += Number(s.numAffectedRows ?? 0n);
      await sql`delete from suppressions where tenant_id = ${row.tenant_id} and kind = ${row.kind}
        and blind_index = ${row.blind_index}`.execute(tx);
    }
  });
  return out;
}
