import crypto from 'node:crypto';
import type { Tenant } from '../tenants/index.js';
import { identitiesOf, type Executor, type IngestDeps } from './ingest-deps.js';
import type { StatusEvent } from './parse-webhook.js';

const INT4_MAX = 2_147_483_647;

/**
 * A delivery status of an outbound message. The recipient is looked up, never created: a status alone does
 * not make someone a subject. Meta's first error code is kept (codes are enums, not personal data).
 */
export async function ingestStatus(
  deps: Pick<IngestDeps, 'subjects'>,
  tx: Executor,
  input: { tenant: Tenant; event: StatusEvent; eventKey: string },
): Promise<{ subjectId: string | undefined }> {
  const { tenant, event } = input;
  const subjectId = await deps.subjects.find(tx, tenant.id, identitiesOf(event.recipient));
  const code = event.errorCodes[0];
  await tx
    .insertInto('message_statuses')
    .values({
      id: crypto.randomUUID(),
      tenant_id: tenant.id,
      subject_id: subjectId ?? null,
      event_key: input.eventKey,
      status: event.status,
      error_code: code !== undefined && Math.abs(code) <= INT4_MAX ? code : null,
      status_at: event.timestamp,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'event_key']).doNothing())
    .execute();
  return { subjectId };
}
