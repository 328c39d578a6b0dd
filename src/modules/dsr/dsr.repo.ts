import type { Kysely, Selectable } from 'kysely';
import type { DB, PrivacyRequestStatus, PrivacyRequestType } from '../../lib/db/schema.js';

export type PrivacyRequestRow = Selectable<DB['privacy_requests']>;
export type RequestTaskRow = Selectable<DB['request_tasks']>;

/** Requests that are still being worked on; a new erasure for the same person joins one of these. */
export const OPEN_STATUSES: PrivacyRequestStatus[] = [
  'received',
  'awaiting_verification',
  'verified',
  'executing',
];

export function createDsrRepo() {
  return {
    insert: (db: Kysely<DB>, row: Omit<PrivacyRequestRow, 'updated_at' | 'result'> & { result?: string }) =>
      db
        .insertInto('privacy_requests')
        .values({ ...row, result: row.result ?? '{}' })
        .execute(),

    findById: (db: Kysely<DB>, tenantId: string | undefined, id: string) => {
      let q = db.selectFrom('privacy_requests').selectAll().where('id', '=', id);
      if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
      return q.executeTakeFirst();
    },

    lockById: (db: Kysely<DB>, id: string) =>
      db.selectFrom('privacy_requests').selectAll().where('id', '=', id).forUpdate().executeTakeFirst(),

    /** `subjectRefs`: the person's reference under every held key version (auditSubjectRefs). */
    findOpen: (db: Kysely<DB>, tenantId: string, subjectRefs: string[], type: PrivacyRequestType) =>
      db
        .selectFrom('privacy_requests')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('subject_ref', 'in', subjectRefs)
        .where('type', '=', type)
        .where('status', 'in', OPEN_STATUSES)
        .orderBy('received_at')
        .forUpdate()
        .executeTakeFirst(),

    update: (
      db: Kysely<DB>,
      id: string,
      patch: Partial<Omit<PrivacyRequestRow, 'id' | 'result'>> & { result?: string },
    ) =>
      db
        .updateTable('privacy_requests')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', id)
        .execute(),

    tasks: (db: Kysely<DB>, requestId: string) =>
      db
        .selectFrom('request_tasks')
        .selectAll()
        .where('request_id', '=', requestId)
        .orderBy('created_at')
        .execute(),

    upsertTask: (
      db: Kysely<DB>,
      task: {
        request_id: string;
        system_id: string;
        action: string;
        status: RequestTaskRow['status'];
        counts?: Record<string, number>;
        completed_at?: Date | null;
      },
    ) =>
      db
        .insertInto('request_tasks')
        .values({
          ...task,
          counts: JSON.stringify(task.counts ?? {}),
          completed_at: task.completed_at ?? null,
        })
        .onConflict((oc) =>
          oc.columns(['request_id', 'system_id']).doUpdateSet({
            status: task.status,
            counts: JSON.stringify(task.counts ?? {}),
            completed_at: task.completed_at ?? null,
            updated_at: new Date(),
          }),
        )
        .execute(),
  };
}

export type DsrRepo = ReturnType<typeof createDsrRepo>;
