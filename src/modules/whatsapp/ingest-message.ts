import crypto from 'node:crypto';
import type { Tenant } from '../tenants/index.js';
import { bumpCounter, noteReturn } from '../compliance/counters.js';
import { enqueueMediaFetch } from '../media/index.js';
import { blindIndexes } from '../subjects/index.js';
import { applyPreference } from './apply-preference.js';
import { isPlainMessage, type IngestBatch } from './ingest-batch.js';
import { identitiesOf, type Executor, type IngestDeps } from './ingest-deps.js';
import { resolveSender } from './ingest-contact.js';
import type { ContactEvent, MessageEvent } from './parse-webhook.js';

/**
 * One new inbound message: its sender becomes (or stays) a subject, the message is kept as metadata (content
 * only when the tenant opted in, always encrypted), media as an encrypted reference (and, with storeMedia, a job
 * to download the file into the encrypted media store), a Flow completion as an
 * encrypted response, and a STOP keyword as a marketing opt-out.
 */
export async function ingestMessage(
  deps: Pick<IngestDeps, 'subjects' | 'subjectKeys' | 'keyring' | 'clock' | 'queue'>,
  tx: Executor,
  input: { tenant: Tenant; event: MessageEvent; eventKey: string; contact: ContactEvent | undefined },
  /** The batch of deliveries this one is written with: a plain message's row waits for its `flush`. */
  batch?: IngestBatch,
): Promise<{ subjectId: string; restricted: boolean }> {
  const { tenant, event, contact } = input;
  const identities = identitiesOf(event.from, contact);
  const subject = await resolveSender(deps, tx, tenant.id, identities, contact?.profileName, batch);
  const { cipher } = subject;
  if (subject.created && tenant.settings.reengagement.enabled) {
    const indexes = identities.flatMap((i) => blindIndexes(deps.keyring, tenant.id, i));
    await noteReturn(tx, tenant.id, indexes, tenant.settings.reengagement.windowDays, deps.clock());
  }
  const keepContent = tenant.settings.storeMessageContent;
  if (event.isStopKeyword) {
    await applyPreference(deps, tx, {
      tenantId: tenant.id,
      subjectId: subject.id,
      identities,
      value: 'stop',
      reason: 'stop_keyword',
    });
  }
  // Restricted processing (GDPR Art. 18): keep nothing new. Opt-outs and privacy requests still go through.
  if (subject.restricted) return { subjectId: subject.id, restricted: true };

  const messageId = crypto.randomUUID();
  const content = event.text ?? event.caption;
  const row = {
    id: messageId,
    tenant_id: tenant.id,
    subject_id: subject.id,
    event_key: input.eventKey,
    direction: 'inbound',
    type: event.type,
    sent_at: event.timestamp,
    content: keepContent && content ? cipher.encrypt(content, 'messages', 'content', messageId) : null,
  } as const;
  if (batch && isPlainMessage(event)) batch.defer(row);
  else await tx.insertInto('messages').values(row).execute();

  if (event.media) {
    const id = crypto.randomUUID();
    const { media } = event;
    await tx
      .insertInto('media')
      .values({
        id,
        tenant_id: tenant.id,
        subject_id: subject.id,
        message_id: messageId,
        media_ref: cipher.encrypt(media.id, 'media', 'media_ref', id),
        mime_type: media.mimeType ?? null,
        sha256: media.sha256 ? cipher.encrypt(media.sha256, 'media', 'sha256', id) : null,
        caption: keepContent && media.caption ? cipher.encrypt(media.caption, 'media', 'caption', id) : null,
        storage_key: null,
        received_at: deps.clock(),
      })
      .execute();
    // Optional media store: the file is downloaded after this transaction commits (a rollback drops the job).
    if (tenant.settings.storeMedia) await enqueueMediaFetch(tx, deps.queue, id);
  }

  if (event.flowReply) {
    await bumpCounter(tx, tenant.id, 'flow_completions');
    // Flow responses are the product's core data: kept whatever storeMessageContent says, always encrypted.
    // flow_token_id stays null here; the flows module links responses to the tokens it issued.
    const id = crypto.randomUUID();
    await tx
      .insertInto('flow_responses')
      .values({
        id,
        tenant_id: tenant.id,
        subject_id: subject.id,
        flow_token_id: null,
        response: cipher.encrypt(event.flowReply.responseJson, 'flow_responses', 'response', id),
        received_at: deps.clock(),
      })
      .execute();
  }

  return { subjectId: subject.id, restricted: false };
}
