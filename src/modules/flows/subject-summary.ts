import { sql, type Expression, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

/** What flowguard's own store holds about one subject, as counts per category (no content). */
export interface SubjectSummary {
  messages: number;
  flow_responses: number;
  media: number;
  identities: number;
  has_profile_name: boolean;
}

/** The summary's columns as a row holds them (`has_profile_name` is null when the subject row is gone). */
export interface SubjectSummaryColumns {
  messages: number;
  flow_responses: number;
  media: number;
  identities: number;
  has_profile_name: boolean | null;
}

/**
 * The select list that counts what is held about the subject `subjectId` (a value or a column of the
 * enclosing statement): one definition for the summary on its own and for the flow-token lookup that reads it
 * in the same statement.
 */
export function summaryColumns(subjectId: Expression<string> | string): RawBuilder<SubjectSummaryColumns> {
  return sql<SubjectSummaryColumns>`
      (select count(*)::int from messages where subject_id = ${subjectId}) as messages,
      (select count(*)::int from flow_responses where subject_id = ${subjectId}) as flow_responses,
      (select count(*)::int from media where subject_id = ${subjectId}) as media,
      (select count(*)::int from identities where subject_id = ${subjectId}) as identities,
      (select profile_name is not null from subjects where id = ${subjectId}) as has_profile_name`;
}

export function toSubjectSummary(row: Partial<SubjectSummaryColumns> | undefined): SubjectSummary {
  return {
    messages: Number(row?.messages ?? 0),
    flow_responses: Number(row?.flow_responses ?? 0),
    media: Number(row?.media ?? 0),
    identities: Number(row?.identities ?? 0),
    has_profile_name: row?.has_profile_name === true,
  };
}

export async function summariseSubject(db: Kysely<DB>, subjectId: string): Promise<SubjectSummary> {
  const result = await sql<SubjectSummaryColumns>`select ${summaryColumns(subjectId)}`.execute(db);
  return toSubjectSummary(result.rows[0]);
}
