import { sql, type Insertable, type Kysely, type QueryCreator, type Selectable } from 'kysely';
import type { DB, PrivacyRequestStatus, PrivacyRequestType } from '../../lib/db/schema.js';
import { counterBump, type CounterName } from '../compliance/counters.js';
import { headForUpdate, type HeldAudit } from '../audit/index.js';

export type PrivacyRequestRow = Selectable<DB['privacy_requests']>;
export type RequestTaskRow = Selectable<DB['request_tasks']>;

/** Requests that are still being worked on; a new erasure for the same person joins one of these. */
export const OPEN_STATUSES: PrivacyRequestStatus[] = [
  'received',
  'awaiting_verification',
  'verified',
  'executing',
];

/** A request's task as a write: inserted, or updated when the request already has one for the system. */
export interface TaskWrite {
  request_id: string;
  system_id: string;
  action: string;
  status: RequestTaskRow['status'];
  counts?: Record<string, number>;
  completed_at?: Date | null;
}

function taskUpsert(qc: QueryCreator<DB>, task: TaskWrite) {
  return qc
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
    );
}

export function createDsrRepo() {
  return {
    /** `count`: add one to this compliance counter of the request's tenant in the same statement. */
    insert: async (
      db: Kysely<DB>,
      row: Omit<PrivacyRequestRow, 'updated_at' | 'result'> & { result?: string },
      opts: { count?: CounterName } = {},
    ) => {
      const values = { ...row, result: row.result ?? '{}' };
      const { count } = opts;
      if (!count) await db.insertInto('privacy_requests').values(values).execute();
      else
        await db
          .with('counted', (qc) => counterBump(qc, row.tenant_id, count))
          .insertInto('privacy_requests')
          .values(values)
          .execute();
    },

    /**
     * `insert`, unless the person (any of `subjectRefs`) already has an open request of the same type, which the
     * caller must then look at (findOpen: join it or not). In the same statement, when the row goes in: `count`
     * as in `insert`, and the audit chain's checkpoint locked and read (`head`, for adoptLockedHead: the
     * request's own events come next). The chain is locked only then, so a caller about to lock an open request
     * does not hold the chain meanwhile (lock order: request, then chain). One round trip for what took three.
     */
    insertUnlessOpen: async (
      db: Kysely<DB>,
      row: Omit<PrivacyRequestRow, 'updated_at' | 'result'> & { result?: string },
      opts: { subjectRefs: string[]; count?: CounterName },
    ): Promise<{ inserted: boolean; head: { seq: number; hash: string } | undefined }> => {
      const values: Record<string, unknown> = { ...row, result: row.result ?? '{}' };
      const columns = Object.keys(values);
      const counted = opts.count
        ? sql`, counted as (
            insert into compliance_counters (tenant_id, name, value) select tenant_id, ${opts.count}, 1 from ins
            on conflict (tenant_id, name) do update set value = compliance_counters.value + 1)`
        : sql``;
      const { rows } = await sql<{ inserted: boolean; head_seq: string | null; head_hash: string | null }>`
        with ins as (
          insert into privacy_requests (${sql.join(columns.map((c) => sql.ref(c)))})
          select ${sql.join(columns.map((c) => sql`${values[c]}`))}
          where not exists (
            select 1 from privacy_requests where tenant_id = ${row.tenant_id}
              and subject_ref = any(${opts.subjectRefs}::text[]) and type = ${row.type}
              and status = any(${OPEN_STATUSES}::text[]))
          returning tenant_id)
        ${counted},
        head as (${headForUpdate(sql`exists (select 1 from ins)`)})
        select exists (select 1 from ins) as inserted, (select seq from head) as head_seq,
          (select hash from head) as head_hash`.execute(db);
      const r = rows[0]!;
      return {
        inserted: r.inserted,
        head:
          r.head_seq === null || r.head_hash === null
            ? undefined
            : { seq: Number(r.head_seq), hash: r.head_hash },
      };
    },

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

    upsertTask: (db: Kysely<DB>, task: TaskWrite) => taskUpsert(db, task).execute(),

    /**
     * `update` of a request that is ending, with in the same statement the task write that ends it, the
     * notification row to the person and the audit events held for it, when there are (one round trip for all).
     */
    finish: async (
      db: Kysely<DB>,
      id: string,
      patch: Partial<Omit<PrivacyRequestRow, 'id' | 'result'>> & { result?: string },
      with_: {
        task?: TaskWrite | undefined;
        notification?: Insertable<DB['outbound_notifications']> | undefined;
        audit?: HeldAudit | undefined;
      },
    ) => {
      const { task, notification, audit } = with_;
      // The CTEs only write: nothing but the audit check reads them, so their names are kept out of the types.
      let qc: QueryCreator<DB> = db;
      if (task)
        qc = qc.with('task_written', (q) =>
          taskUpsert(q, task).returning('request_id'),
        ) as unknown as QueryCreator<DB>;
      if (notification)
        qc = qc.with('notification_written', (q) =>
          q.insertInto('outbound_notifications').values(notification).returning('id'),
        ) as unknown as QueryCreator<DB>;
      if (audit) {
        qc = qc
          .with('audit_rows', () => audit.ctes.audit_rows)
          .with('audit_moved', () => audit.ctes.audit_moved) as unknown as QueryCreator<DB>;
      }
      const update = qc
        .updateTable('privacy_requests')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', id);
      if (!audit) {
        await update.execute();
        return;
      }
      const row = await update
        .returning(sql<string | null>`(select seq::text from audit_moved)`.as('audit_seq'))
        .executeTakeFirst();
      audit.written(row?.audit_seq);
    },
  };
}

export type DsrRepo = ReturnType<typeof createDsrRepo>;
