import { sql, type Kysely } from 'kysely';
import type { Keyring } from '../../../src/lib/crypto/index.js';
import type { DB } from '../../../src/lib/db/schema.js';
import { auditSubjectRef } from '../../../src/modules/audit/index.js';
import { blindIndex } from '../../../src/modules/subjects/index.js';
import { bsuidOf, phoneOf, type Person } from '../webhook-payloads.js';

/**
 * What flowguard's own store holds of one person, read from its tables with the library's own keyed lookups
 * (blind index of each identity, audit reference of the subject): the crash loop's judge of "never partly
 * erased". A person is `present` with everything their first messages left (subject, both identities, the
 * messages, the flow response, the media reference), `absent` with none of it, and anything else is `partial`.
 */

export type OwnState = 'present' | 'absent' | 'partial';

const BY_SUBJECT = ['messages', 'flow_responses', 'media', 'flow_tokens', 'message_statuses'] as const;

export interface OwnHold {
  state: OwnState;
  subjectId: string | undefined;
  counts: Record<string, number>;
}

export async function ownHold(
  db: Kysely<DB>,
  keyring: Keyring,
  p: Person,
  knownSubjectId: string | undefined,
): Promise<OwnHold> {
  const indexes = [phoneOf(p), bsuidOf(p)].map((i) => blindIndex(keyring, 'default', i));
  const identities = await db
    .selectFrom('identities')
    .select(['subject_id'])
    .where('blind_index', 'in', indexes)
    .execute();
  const ids = [...new Set(identities.map((r) => r.subject_id))];
  const subjectId = ids[0] ?? knownSubjectId;
  const counts: Record<string, number> = { identities: identities.length, subjects: 0 };
  if (subjectId) {
    counts.subjects = (
      await db.selectFrom('subjects').select('id').where('id', '=', subjectId).execute()
    ).length;
    for (const table of BY_SUBJECT) {
      const row = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      counts[table] = Number(row?.n ?? 0);
    }
  }
  const present =
    ids.length === 1 &&
    counts.subjects === 1 &&
    counts.identities === 2 &&
    counts.messages! >= 3 &&
    counts.flow_responses! >= 1 &&
    counts.media === 1;
  const absent = Object.values(counts).every((n) => n === 0);
  return { state: present ? 'present' : absent ? 'absent' : 'partial', subjectId, counts };
}

export interface RequestRow {
  id: string;
  type: string;
  status: string;
  subject_ref: string;
}

export async function erasureRequests(db: Kysely<DB>): Promise<RequestRow[]> {
  return db
    .selectFrom('privacy_requests')
    .select(['id', 'type', 'status', 'subject_ref'])
    .where('type', '=', 'erasure')
    .execute();
}

export const subjectRefOf = (keyring: Keyring, subjectId: string) => auditSubjectRef(keyring, { subjectId });

/**
 * Requests a crash may not leave behind: one in a state only seen inside its creating transaction, one whose
 * own-store part is not done, one missing a system's task, and a system task that is not finished but has no
 * job left to run it (it would never complete). Returns one line per fault.
 */
export async function orphanedWork(db: Kysely<DB>, systems: string[]): Promise<string[]> {
  const faults: string[] = [];
  const requests = await erasureRequests(db);
  const tasks = await db.selectFrom('request_tasks').select(['request_id', 'system_id', 'status']).execute();
  const jobs = await sql<{ request_id: string; system_id: string; state: string }>`
    select data->>'requestId' as request_id, data->>'systemId' as system_id, state::text as state
    from pgboss.job where name = 'connector.run'`.execute(db);
  const live = new Set(
    jobs.rows
      .filter((j) => ['created', 'retry', 'active'].includes(j.state))
      .map((j) => `${j.request_id}/${j.system_id}`),
  );
  const byRequest = new Map<string, { system_id: string; status: string }[]>();
  for (const t of tasks) byRequest.set(t.request_id, [...(byRequest.get(t.request_id) ?? []), t]);
  for (const r of requests) {
    if (!['awaiting_verification', 'executing', 'completed'].includes(r.status)) {
      faults.push(`request ${r.id} is ${r.status}`);
      continue;
    }
    if (r.status === 'awaiting_verification') continue;
    const own = byRequest.get(r.id) ?? [];
    if (own.find((t) => t.system_id === 'flowguard')?.status !== 'done')
      faults.push(`request ${r.id}: own-store task not done`);
    for (const system of systems) {
      const task = own.find((t) => t.system_id === system);
      if (!task) faults.push(`request ${r.id}: no task for ${system}`);
      else if (task.status !== 'done' && !live.has(`${r.id}/${system}`))
        faults.push(`request ${r.id}: task ${system} is ${task.status} with no job to run it`);
      else if (task.status !== 'done' && r.status === 'completed')
        faults.push(`request ${r.id}: completed with task ${system} ${task.status}`);
    }
  }
  return faults;
}
