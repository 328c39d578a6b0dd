import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';

export type NotificationKind =
  'confirm_request' | 'request_completed' | 'access_ready' | 'request_denied' | 'request_extended';

export function recipientAad(notificationId: string): string {
  return `outbound_notifications.recipient.${notificationId}`;
}

export interface NotificationInput {
  tenantId: string;
  requestId: string | null;
  recipient: Identity;
  kind: NotificationKind;
  params: Record<string, string | number | boolean>;
}

/**
 * The outbound_notifications row of a message to the person. The recipient is sealed under a tenant-level key
 * (the person's own key may be erased in the same transaction) and the row is deleted as soon as the message is
 * sent; the send job's payload carries only the row id.
 */
export function notificationRow(keyring: Keyring, input: NotificationInput) {
  const id = crypto.randomUUID();
  return {
    id,
    tenant_id: input.tenantId,
    request_id: input.requestId,
    recipient: keyring.sealSecret(JSON.stringify(input.recipient), recipientAad(id)),
    kind: input.kind,
    params: JSON.stringify(input.params),
  };
}

/**
 * Queue a WhatsApp message to the person, inside the caller's transaction: the row alone. Its send job is queued
 * by the relay once the transaction commits (notify-relay.ts), so a rollback leaves neither.
 */
export async function enqueueNotification(
  tx: Kysely<DB>,
  deps: { keyring: Keyring },
  input: NotificationInput,
): Promise<string> {
  const row = notificationRow(deps.keyring, input);
  await tx.insertInto('outbound_notifications').values(row).execute();
  return row.id;
}
