import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

/** What the public status page may show: the reference, the status and two times. No personal data. */
export interface DeletionStatus {
  confirmation_code: string;
  status: string;
  /** One of `in_progress`, `completed`, `failed`, `denied`: the plain-language state. */
  state: 'in_progress' | 'completed' | 'failed' | 'denied';
  received_at: string;
  completed_at: string | null;
}

function stateOf(status: string): DeletionStatus['state'] {
  return status === 'completed' || status === 'failed' || status === 'denied' ? status : 'in_progress';
}

/** The request Meta's callback created under this reference; other channels' requests are never shown here. */
export async function findDeletionStatus(
  db: Kysely<DB>,
  reference: string,
): Promise<DeletionStatus | undefined> {
  const row = await db
    .selectFrom('privacy_requests')
    .select(['reference', 'status', 'received_at', 'completed_at'])
    .where('reference', '=', reference)
    .where('channel', '=', 'meta_callback')
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    confirmation_code: row.reference,
    status: row.status,
    state: stateOf(row.status),
    received_at: new Date(row.received_at).toISOString(),
    completed_at: row.completed_at ? new Date(row.completed_at).toISOString() : null,
  };
}
