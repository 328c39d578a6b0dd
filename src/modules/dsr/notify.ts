import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import type { Queue } from '../../jobs/queue.js';

export type NotificationKind =
  'confirm_request' | 'request_completed' | 'access_ready' | 'request_denied' | 'request_extended';

export function recipientAad(notificationId: string): string {
  return `outbound_notifications.recipient.${notificationId}`;
}

/**
 * Queue a WhatsApp message to the person, inside the caller's transaction. The recipient is sealed under a
 * tenant-level key (the person's own key may be erased in the same transaction) and the row is deleted as
 * soon as the message is sent; the job payload carries only the row id.
 */
export async function enqueueNotification(
  tx: Kysely<DB>,
  deps: { keyring: Keyring; queue: Pick<Queue, 'send'> },
  input: {
    tenantId: string;
    requestId: string | null;
    recipient: Identity;
    kind: NotificationKind;
    params: Record<string, string | number | boolean>;
  },
): Promise<string> {
  const id = crypto.randomUUID();
  await tx
    .insertInto('outbound_notifications')
    .values({
      id,
      tenant_id: input.tenantId,
      request_id: input.requestId,
      recipient: deps.keyring.sealSecret(JSON.stringify(input.recipient), recipientAad(id)),
      kind: input.kind,
      params: JSON.stringify(input.params),
    })
    .execute();
  await deps.queue.send(tx, 'notify.send', { notificationId: id });
  return id;
}
