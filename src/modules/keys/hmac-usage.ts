import { sql, type Kysely, type RawBuilder } from 'kysely';
import { FIRST_PURPOSE_VERSION, type HmacPurpose } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';

/**
 * The HMAC purposes whose key can be replaced by a new version: the blind index (identities, suppressions,
 * erased identities, admin e-mail lookups), audit subject references, and event ids (webhook de-duplication).
 * Not `subject-ref` (it names the keys in the key store and its erasure journal, which restore-replay matches
 * against restored subjects) nor `export-link` (links expire within days).
 */
export const VERSIONED_PURPOSES = ['blind-index', 'audit-subject', 'event-id'] as const;
export type VersionedPurpose = (typeof VERSIONED_PURPOSES)[number];

export function parseVersionedPurpose(value: unknown): VersionedPurpose {
  if (typeof value === 'string' && (VERSIONED_PURPOSES as readonly string[]).includes(value))
    return value as VersionedPurpose;
  throw new AppError(
    'VALIDATION_FAILED',
    { field: 'purpose' },
    `--purpose must be one of ${VERSIONED_PURPOSES.join(', ')}`,
  );
}

/** Rows of `column` whose HMAC was made under `version` (a bare value is the first version's). */
export function underVersion(column: string, purpose: HmacPurpose, version: string): RawBuilder<boolean> {
  const ref = sql.ref(column);
  return version === FIRST_PURPOSE_VERSION[purpose]
    ? sql<boolean>`${ref} !~ '^[a-z][0-9]+\\.'`
    : sql<boolean>`starts_with(${ref}, ${`${version}.`})`;
}

/**
 * What still uses one version of a purpose key. `blocking`: rows re-indexing moves (or that expire on their
 * own) — retiring waits for them. `unindexable`: blind indexes flowguard keeps no plaintext of (the STOP of an
 * erased person, re-engagement entries) — retiring forgets them only when told to. `anonymised`: rows that keep
 * the reference as it is and become anonymous once the key is gone (audit rows, ended request records).
 */
export interface HmacUsage {
  blocking: Record<string, number>;
  unindexable: Record<string, number>;
  anonymised: Record<string, number>;
}

const OPEN = sql.join(['received', 'awaiting_verification', 'verified', 'executing'].map((s) => sql.lit(s)));

async function count(db: Kysely<DB>, table: keyof DB & string, where: RawBuilder<boolean>) {
  const r = await sql<{
    n: string;
  }>`select count(*)::text as n from ${sql.table(table)} where ${where}`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

export async function hmacVersionUsage(
  db: Kysely<DB>,
  purpose: VersionedPurpose,
  version: string,
): Promise<HmacUsage> {
  switch (purpose) {
    case 'blind-index':
      return {
        blocking: {
          identities: await count(db, 'identities', sql<boolean>`blind_index_version = ${version}`),
          admin_users: await count(db, 'admin_users', underVersion('email_index', purpose, version)),
        },
        unindexable: {
          suppressions: await count(db, 'suppressions', underVersion('blind_index', purpose, version)),
          erased_identities: await count(
            db,
            'erased_identities',
            underVersion('blind_index', purpose, version),
          ),
        },
        anonymised: {},
      };
    case 'audit-subject': {
      const ref = underVersion('subject_ref', purpose, version);
      return {
        blocking: {
          open_requests: await count(db, 'privacy_requests', sql<boolean>`status in (${OPEN}) and ${ref}`),
        },
        unindexable: {},
        anonymised: {
          request_records: await count(
            db,
            'privacy_requests',
            sql<boolean>`status not in (${OPEN}) and ${ref}`,
          ),
          audit_log: await count(
            db,
            'audit_log',
            sql<boolean>`key_version = ${version} and subject_ref is not null`,
          ),
        },
      };
    }
    case 'event-id':
      return {
        // De-duplication ids expire with retention.days.processed_events.
        blocking: {
          processed_events: await count(db, 'processed_events', underVersion('event_key', purpose, version)),
        },
        unindexable: {},
        anonymised: {},
      };
  }
}

export const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
