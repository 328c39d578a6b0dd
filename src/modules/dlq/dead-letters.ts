import { sql, type Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import { executorFor } from '../../lib/db/database.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { deadLetterName, queueCatalog } from '../../jobs/catalog.js';
import type { Queue } from '../../jobs/queue.js';
import { isUuid } from '../../lib/uuid.js';

export interface DeadLetter {
  id: string;
  queue: string;
  /** Job payloads hold ids only (request, system, notification, conversation key): never personal data. */
  data: Record<string, unknown>;
  created_at: string;
}

const DEAD_QUEUES = queueCatalog.map((q) => deadLetterName(q.name));

interface LetterRow {
  id: string;
  name: string;
  data: Record<string, unknown>;
  created_on: Date;
}

const toLetter = (r: LetterRow): DeadLetter => ({
  id: r.id,
  queue: r.name,
  data: r.data,
  created_at: new Date(r.created_on).toISOString(),
});

/**
 * A tenant sees the letters of its requests and those naming it directly (pass-through drains); letters that
 * name neither (scheduled jobs) are everyone's.
 */
const ofTenant = (tenantId: string | undefined) =>
  tenantId === undefined
    ? sql``
    : sql`and (j.data->>'requestId' is null or exists (select 1 from privacy_requests r
          where r.id::text = j.data->>'requestId' and r.tenant_id = ${tenantId}))
        and (j.data->>'tenantId' is null or j.data->>'tenantId' = ${tenantId})`;

/**
 * What waits in the dead-letter queues, oldest first, optionally for one tenant; `after` (a letter's id, the
 * last of the previous page) pages on.
 */
export async function listDeadLetters(
  db: Kysely<DB>,
  opts: { tenantId?: string | undefined; limit?: number; after?: string | undefined } = {},
): Promise<DeadLetter[]> {
  if (opts.after !== undefined && !isUuid(opts.after)) {
    throw new AppError('VALIDATION_FAILED', { field: 'after' }, 'after must be a dead letter id');
  }
  const rows = await sql<LetterRow>`
    select j.id::text as id, j.name, j.data, j.created_on
    from pgboss.job j
    where j.name in (${sql.join(DEAD_QUEUES)}) and j.state in ('created', 'retry') ${ofTenant(opts.tenantId)}
      ${opts.after ? sql`and (j.created_on, j.id) > (select created_on, id from pgboss.job where id = ${opts.after}::uuid)` : sql``}
    order by j.created_on, j.id
    limit ${opts.limit ?? 500}`.execute(db);
  return rows.rows.map(toLetter);
}

/** One dead letter the tenant may see, locked until the transaction ends (a replay takes it once). */
async function lockDeadLetter(
  tx: Kysely<DB>,
  id: string,
  tenantId: string | undefined,
): Promise<DeadLetter | undefined> {
  if (!isUuid(id)) return undefined;
  const rows = await sql<LetterRow>`
    select j.id::text as id, j.name, j.data, j.created_on
    from pgboss.job j
    where j.id = ${id}::uuid and j.name in (${sql.join(DEAD_QUEUES)}) and j.state in ('created', 'retry')
      ${ofTenant(tenantId)}
    for update of j`.execute(tx);
  return rows.rows[0] ? toLetter(rows.rows[0]) : undefined;
}

/**
 * Replay one dead letter: in one transaction, put it back on its queue, remove it from the dead-letter
 * queue, and (for a data-map task) set the task pending and its failed request executing again. The letter is
 * locked first: a second replay of it (a double click, the CLI and the dashboard at once) waits, then finds it
 * gone (NOT_FOUND) instead of queueing the task twice.
 */
export async function retryDeadLetter(
  db: Kysely<DB>,
  queue: Pick<Queue, 'boss' | 'send'>,
  id: string,
  opts: {
    tenantId?: string | undefined;
    /** Runs inside the replay's transaction (the admin API writes its audit event here). */
    onReplay?: (tx: Kysely<DB>, letter: DeadLetter) => Promise<unknown>;
  } = {},
): Promise<{ queue: string; data: Record<string, unknown> }> {
  return db.transaction().execute(async (tx) => {
    const letter = await lockDeadLetter(tx, id, opts.tenantId);
    if (!letter) throw new AppError('NOT_FOUND', { resource: 'dead_letter' }, 'no such dead letter');
    const original = letter.queue.replace(/\.dead$/, '');
    if (original === 'connector.run') {
      const { requestId, systemId } = letter.data as { requestId: string; systemId: string };
      // The request first, as a finishing task does (its task, then the request, then the audit chain):
      // concurrent replays and finishing tasks of one request then queue on this row instead of deadlocking.
      await tx.selectFrom('privacy_requests').select('id').where('id', '=', requestId).forUpdate().execute();
      await tx
        .updateTable('request_tasks')
        .set({ status: 'pending', queued_at: new Date(), updated_at: new Date() })
        .where('request_id', '=', requestId)
        .where('system_id', '=', systemId)
        .where('status', '!=', 'done') // settled meanwhile (e.g. confirmed late): the replay finds nothing to do
        .execute();
      await tx
        .updateTable('privacy_requests')
        .set({ status: 'executing', completed_at: null, error_code: null, updated_at: new Date() })
        .where('id', '=', requestId)
        .where('status', '=', 'failed')
        .execute();
    }
    await queue.send(tx, original, letter.data);
    await queue.boss.deleteJob(letter.queue, id, { db: executorFor(tx) as PgBoss.Db });
    await opts.onReplay?.(tx, letter);
    return { queue: original, data: letter.data };
  });
}

/**
 * Inside the caller's transaction: drop the dead letters of one data-map task that was settled another way
 * (its system confirmed the erasure after all), so a replay cannot run it again.
 */
export async function discardTaskDeadLetters(
  tx: Kysely<DB>,
  task: { requestId: string; systemId: string },
): Promise<number> {
  const r = await sql`
    delete from pgboss.job
    where name = ${deadLetterName('connector.run')} and state in ('created', 'retry')
      and data->>'requestId' = ${task.requestId} and data->>'systemId' = ${task.systemId}`.execute(tx);
  return Number(r.numAffectedRows ?? 0);
}
