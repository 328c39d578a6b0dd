import { sql, type Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

/** What flowguard's own store holds about one subject, as counts per category (no content). */
export interface SubjectSummary {
  messages: number;
  flow_responses: number;
  media: number;
  identities: number;
  has_profile_name: boolean;
}

export async function summariseSubject(db: Kysely<DB>, subjectId: string): Promise<SubjectSummary> {
  const result = await sql<{
    messages: number;
    flow_responses: number;
    media: number;
    identities: number;
    has_profile_name: boolean | null;
  }>`
    select
      (select count(*)::int from messages where subject_id = ${subjectId}) as messages,
      (select count(*)::int from flow_responses where subject_id = ${subjectId}) as flow_responses,
      (select count(*)::int from media where subject_id = ${subjectId}) as media,
      (select count(*)::int from identities where subject_id = ${subjectId}) as identities,
      (select profile_name is not null from subjects where id = ${subjectId}) as has_profile_name
  `.execute(db);
  const row = result.rows[0];
  return {
    messages: Number(row?.messages ?? 0),
    flow_responses: Number(row?.flow_responses ?? 0),
    media: Number(row?.media ?? 0),
    identities: Number(row?.identities ?? 0),
    has_profile_name: row?.has_profile_name === true,
  };
}
