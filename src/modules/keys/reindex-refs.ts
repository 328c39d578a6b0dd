import { sql, type Kysely } from 'kysely';
import { DecryptError, type Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { emailAad, emailIndex } from '../admin/admin-email.js';
import { auditSubjectRef } from '../audit/index.js';
import { requestIdentities } from '../dsr/request-identities.js';
import { blindIndex } from '../subjects/index.js';
import { underVersion, type VersionedPurpose } from './hmac-usage.js';

/**
 * Re-keying what is not an identity row: admin e-mail lookups (the e-mail is sealed with the tenant-secrets
 * key, so the index can be computed again) and privacy requests' subject references (from the subject id, or
 * from the identities an open request keeps sealed). Each row is updated only if it still holds the value
 * read (compare-and-set), so a concurrent change wins.
 */

export interface StepResult {
  moved: number;
  /** Rows no key can move (no subject, no sealed identity left). */
  skipped: number;
}

export async function reindexAdminEmails(
  db: Kysely<DB>,
  keyring: Keyring,
  target: string,
): Promise<StepResult> {
  const rows = await db
    .selectFrom('admin_users')
    .select(['id', 'email', 'email_index'])
    .where(sql<boolean>`not ${underVersion('email_index', 'blind-index', target)}`)
    .execute();
  let moved = 0;
  for (const row of rows) {
    let email: string;
    try {
      email = keyring.openSecret(row.email, emailAad(row.id));
    } catch (err) {
      if (err instanceof DecryptError) continue;
      throw err;
    }
    const index = emailIndex(keyring, email);
    const r = await db
      .updateTable('admin_users')
      .set({ email_index: index })
      .where('id', '=', row.id)
      .where('email_index', '=', row.email_index)
      .executeTakeFirst();
    moved += Number(r.numUpdatedRows);
  }
  return { moved, skipped: rows.length - moved };
}

const OPEN = ['received', 'awaiting_verification', 'verified', 'executing'] as const;

/**
 * `blind-index`: open requests about people flowguard did not know (keyed on the blind index of the identity
 * given); `audit-subject`: every request whose reference is under an older audit key version.
 */
export async function rekeyRequestRefs(
  db: Kysely<DB>,
  keyring: Keyring,
  opts: { purpose: VersionedPurpose; target: string; batchSize: number; signal?: AbortSignal | undefined },
): Promise<StepResult> {
  const result: StepResult = { moved: 0, skipped: 0 };
  let after: string | null = null;
  for (;;) {
    if (opts.signal?.aborted) return result;
    let q = db
      .selectFrom('privacy_requests')
      .select(['id', 'tenant_id', 'subject_id', 'subject_ref', 'identities'])
      .orderBy('id')
      .limit(opts.batchSize);
    q =
      opts.purpose === 'blind-index'
        ? q.where('status', 'in', OPEN).where('subject_id', 'is', null).where('identities', 'is not', null)
        : q.where(sql<boolean>`not ${underVersion('subject_ref', 'audit-subject', opts.target)}`);
    if (after !== null) q = q.where('id', '>', after);
    const rows = await q.execute();
    if (rows.length === 0) return result;
    after = rows.at(-1)!.id;
    for (const row of rows) {
      const first = row.subject_id ? undefined : requestIdentities(keyring, row)[0];
      const ref = row.subject_id
        ? auditSubjectRef(keyring, { subjectId: row.subject_id })
        : first
          ? auditSubjectRef(keyring, { blindIndex: blindIndex(keyring, row.tenant_id, first) })
          : undefined;
      if (ref === undefined) {
        result.skipped++;
        continue;
      }
      if (ref === row.subject_ref) continue;
      const r = await db
        .updateTable('privacy_requests')
        .set({ subject_ref: ref })
        .where('id', '=', row.id)
        .where('subject_ref', '=', row.subject_ref)
        .executeTakeFirst();
      result.moved += Number(r.numUpdatedRows);
    }
  }
}
