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

async function countBySubject(
  db: Kysely<DB>,
  table:
    | 'identities'
    | 'messages'
    | 'flow_responses'
    | 'media'
    | 'message_statuses'
    | 'flow_tokens'
    | 'forward_outbox',
  subjectId: string,
): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('subject_id', '=', subjectId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
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
  const subject = await db
    .selectFrom('subjects')
    .select(['id', 'profile_name', 'marketing_opt_out'])
    .where('id', '=', subjectId)
    .where('tenant_id', '=', tenantId)
    .forUpdate()
    .executeTakeFirst();
  const counts = zero();
  if (!subject) return counts;

  switch (input.scope) {
    case 'all': {
      counts.identities = await countBySubject(db, 'identities', subjectId);
      counts.messages = await countBySubject(db, 'messages', subjectId);
      counts.flow_responses = await countBySubject(db, 'flow_responses', subjectId);
      counts.media = await countBySubject(db, 'media', subjectId);
      counts.media_files = await queueMediaDeletes(db, deps.queue, subjectId);
      counts.delivery_statuses = await countBySubject(db, 'message_statuses', subjectId);
      counts.flow_tokens = await countBySubject(db, 'flow_tokens', subjectId);
      counts.pending_forwards = await countBySubject(db, 'forward_outbox', subjectId);
      counts.profile_name = subject.profile_name ? 1 : 0;
      counts.data_key = 1;
      if (subject.marketing_opt_out) {
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
