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
 * `all` in one statement: the subject row locked, what goes counted, the person's suppression entries written
 * when they opted out, their blind indexes read when they are to be remembered, and the subject row deleted (every
 * row of theirs goes by cascade; the delete's trigger journals the subject). Every part sees the statement's
 * snapshot, so the counts are of the rows the delete removes. A subject with stored media files is not deleted
 * here (`deleted` false): their storage keys are read and locked first. Undefined when the subject is not there
 * (already erased, or another tenant's): nothing is written then.
 */
async function lockCountAndDelete(
  db: Kysely<DB>,
  input: { tenantId: string; subjectId: string; rememberForReengagement?: boolean },
) {
  const { tenantId, subjectId } = input;
  const count = (table: string, where = sql``) =>
    sql<string>`(select count(*) from ${sql.table(table)} where subject_id = ${subjectId} ${where})`;
  const blindIndexes = input.rememberForReengagement
    ? sql`(select coalesce(array_agg(blind_index), '{}') from identities where subject_id = ${subjectId})`
    : sql`null`;
  const { rows } = await sql<{
    has_profile_name: boolean;
    identities: string;
    messages: string;
    flow_responses: string;
    media: string;
    delivery_statuses: string;
    flow_tokens: string;
    pending_forwards: string;
    media_files: string;
    blind_indexes: string[] | null;
    deleted: boolean;
  }>`with s as materialized (
      select s.id, s.profile_name is not null as has_profile_name, s.marketing_opt_out,
        ${count('identities')} as identities, ${count('messages')} as messages,
        ${count('flow_responses')} as flow_responses, ${count('media')} as media,
        ${count('message_statuses')} as delivery_statuses, ${count('flow_tokens')} as flow_tokens,
        ${count('forward_outbox')} as pending_forwards,
        ${count('media', sql`and storage_key is not null`)} as media_files
      from subjects s where s.id = ${subjectId} and s.tenant_id = ${tenantId}
      for update of s),
    kept as (
      insert into suppressions (tenant_id, kind, blind_index, reason)
      select i.tenant_id, i.kind, i.blind_index, 'kept_after_erasure'
      from identities i join s on i.subject_id = s.id where s.marketing_opt_out
      on conflict do nothing),
    gone as (
      delete from subjects where id in (select id from s where media_files = 0) returning id)
    select s.has_profile_name, s.identities, s.messages, s.flow_responses, s.media, s.delivery_statuses,
      s.flow_tokens, s.pending_forwards, s.media_files, ${blindIndexes} as blind_indexes,
      exists (select 1 from gone) as deleted
    from s`.execute(db);
  const r = rows[0];
  if (!r) return undefined;
  return {
    deleted: r.deleted,
    blindIndexes: r.blind_indexes ?? [],
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
    subjectKeys: Pick<SubjectKeys, 'forget'>;
    /** Queues the stored media files' deletion jobs; without it the media deletion journal's sweep does it. */
    queue?: Pick<Queue, 'send'>;
  },
  input: { tenantId: string; subjectId: string; scope: ErasureScope; rememberForReengagement?: boolean },
): Promise<OwnErasureCounts> {
  const { subjectId, tenantId } = input;
  if (input.scope === 'all') {
    const found = await lockCountAndDelete(db, input);
    if (!found) return zero();
    const { counts } = found;
    if (!found.deleted) {
      // Stored files are rare (storeMedia): their keys are read, and their rows locked, before the rows go.
      counts.media_files = await queueMediaDeletes(db, deps.queue, subjectId);
      await db.deleteFrom('subjects').where('id', '=', subjectId).execute();
    }
    if (input.rememberForReengagement) await rememberErased(db, tenantId, found.blindIndexes);
    // The delete's trigger journals the subject, and the journal's own trigger has the shred job run once the
    // transaction commits (without a worker listening, the job's schedule picks the entry up within a minute).
    deps.subjectKeys.forget(subjectId);
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
