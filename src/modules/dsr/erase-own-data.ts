import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { SubjectKeys } from '../subjects/index.js';
import { rememberErased } from '../compliance/counters.js';
import { queueMediaDeletes } from '../media/index.js';
import type { Queue } from '../../jobs/queue.js';
import type { ErasureScope } from './categories.js';

export interface OwnErasureCounts {
  identities: number;
  profile_name: number;
  messages: number;
  flow_responses: number;
  media: number;
  /** Stored media files (storeMedia) whose deletion was queued for after the commit. */
  media_files: number;
  delivery_statuses: number;
  flow_tokens: number;
  pending_forwards: number;
  data_key: number;
}

const zero = (): OwnErasureCounts => ({
  identities: 0,
  profile_name: 0,
  messages: 0,
  flow_responses: 0,
  media: 0,
  media_files: 0,
  delivery_statuses: 0,
  flow_tokens: 0,
  pending_forwards: 0,
  data_key: 0,
});

/**
 * The subject row, locked, and what `all` removes, counted in the same statement (each count is an index scan
 * on the table's subject_id). Undefined when the subject is not there (already erased, or another tenant's).
 */
async function lockAndCount(db: Kysely<DB>, tenantId: string, subjectId: string) {
  const count = (table: string, where = sql``) =>
    sql<string>`(select count(*) from ${sql.table(table)} where subject_id = ${subjectId} ${where})`;
  const { rows } = await sql<{
    has_profile_name: boolean;
    marketing_opt_out: boolean;
    identities: string;
    messages: string;
    flow_responses: string;
    media: string;
    delivery_statuses: string;
    flow_tokens: string;
    pending_forwards: string;
    media_files: string;
  }>`select s.profile_name is not null as has_profile_name, s.marketing_opt_out,
      ${count('identities')} as identities, ${count('messages')} as messages,
      ${count('flow_responses')} as flow_responses, ${count('media')} as media,
      ${count('message_statuses')} as delivery_statuses, ${count('flow_tokens')} as flow_tokens,
      ${count('forward_outbox')} as pending_forwards,
      ${count('media', sql`and storage_key is not null`)} as media_files
    from subjects s where s.id = ${subjectId} and s.tenant_id = ${tenantId}
    for update of s`.execute(db);
  const r = rows[0];
  if (!r) return undefined;
  return {
    marketingOptOut: r.marketing_opt_out,
    counts: {
      ...zero(),
      profile_name: r.has_profile_name ? 1 : 0,
      identities: Number(r.identities),
      messages: Number(r.messages),
      flow_responses: Number(r.flow_responses),
      media: Number(r.media),
      delivery_statuses: Number(r.delivery_statuses),
      flow_tokens: Number(r.flow_tokens),
      pending_forwards: Number(r.pending_forwards),
      media_files: Number(r.media_files),
      data_key: 1,
    },
  };
}

/**
 * Erase one subject's data from flowguard's own store, inside the caller's transaction (the one that also
 * records the request, writes the audit events and enqueues the external systems' jobs), so a crash leaves
 * either nothing done or everything done.
 *
 * `all` deletes the subject row; every table that holds the person references it with ON DELETE CASCADE,
 * and the delete's trigger journals it; the key in the key store is shredded right after the commit
 * (crypto-shredding: copies in backups can no longer be decrypted). The marketing
 * suppression entries, keyed by blind index only, are kept when the person opted out, so a STOP survives.
 *
 * Stored media files (tenant setting storeMedia) are files, not rows: `all` and `media` queue one deletion job
 * per file in this transaction (run after the commit; gone with a rollback), and the row delete's trigger also
 * journals each file for the media sweep. Even if both were lost, after `all` the file cannot be read: its own
 * key is wrapped by the person's data key, which is shredded.
 */
export async function eraseOwnData(
  db: Kysely<DB>,
  deps: {
    subjectKeys: Pick<SubjectKeys, 'forget'> & Partial<Pick<SubjectKeys, 'shred'>>;
    /** Queues the stored media files' deletion jobs; without it the media deletion journal's sweep does it. */
    queue?: Pick<Queue, 'send'>;
  },
  input: { tenantId: string; subjectId: string; scope: ErasureScope; rememberForReengagement?: boolean },
): Promise<OwnErasureCounts> {
  const { subjectId, tenantId } = input;
  if (input.scope === 'all') {
    const found = await lockAndCount(db, tenantId, subjectId);
    if (!found) return zero();
    const { counts } = found;
    // Stored files are rare (storeMedia): look for their keys only when there are some.
    if (counts.media_files > 0) counts.media_files = await queueMediaDeletes(db, deps.queue, subjectId);
    if (found.marketingOptOut) {
      await sql`insert into suppressions (tenant_id, kind, blind_index, reason)
        select tenant_id, kind, blind_index, 'kept_after_erasure' from identities where subject_id = ${subjectId}
        on conflict do nothing`.execute(db);
    }
    if (input.rememberForReengagement) {
      const indexes = await db
        .selectFrom('identities')
        .select('blind_index')
        .where('subject_id', '=', subjectId)
        .execute();
      await rememberErased(
        db,
        tenantId,
        indexes.map((r) => r.blind_index),
      );
    }
    await db.deleteFrom('subjects').where('id', '=', subjectId).execute();
    // The delete's trigger journals the subject; `shred` also asks for the shred job to run after the commit
    // (without it, the job's schedule picks the entry up within a minute).
    if (deps.subjectKeys.shred) await deps.subjectKeys.shred(db, subjectId);
    else deps.subjectKeys.forget(subjectId);
    return counts;
  }

  const subject = await db
    .selectFrom('subjects')
    .select(['id', 'profile_name'])
    .where('id', '=', subjectId)
    .where('tenant_id', '=', tenantId)
    .forUpdate()
    .executeTakeFirst();
  const counts = zero();
  if (!subject) return counts;
  switch (input.scope) {
    case 'profile': {
      counts.profile_name = subject.profile_name ? 1 : 0;
      await db.updateTable('subjects').set({ profile_name: null }).where('id', '=', subjectId).execute();
      return counts;
    }
    case 'messages': {
      const r = await db.deleteFrom('messages').where('subject_id', '=', subjectId).executeTakeFirst();
      counts.messages = Number(r.numDeletedRows);
      return counts;
    }
    case 'flow_responses': {
      const r = await db.deleteFrom('flow_responses').where('subject_id', '=', subjectId).executeTakeFirst();
      counts.flow_responses = Number(r.numDeletedRows);
      return counts;
    }
    case 'media': {
      counts.media_files = await queueMediaDeletes(db, deps.queue, subjectId);
      const r = await db.deleteFrom('media').where('subject_id', '=', subjectId).executeTakeFirst();
      counts.media = Number(r.numDeletedRows);
      return counts;
    }
    case 'delivery_statuses': {
      const r = await db
        .deleteFrom('message_statuses')
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      counts.delivery_statuses = Number(r.numDeletedRows);
      return counts;
    }
  }
}
