import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { createDsrRepo } from './dsr.repo.js';
import type { Actor, DsrDeps } from './dsr.types.js';
import { enqueueNotification } from './notify.js';
import { requestIdentities } from './request-identities.js';
import { messagingRecipient } from './subject-identities.js';

const repo = createDsrRepo();

export const DENIAL_REASONS = ['manifestly_unfounded', 'excessive', 'identity_not_verified'] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** Requests that may still be denied: nothing has been carried out yet. */
const DENIABLE = ['received', 'awaiting_verification'];

/**
 * Refuse a request that has not been carried out (GDPR Art. 12(5): manifestly unfounded or excessive;
 * Art. 12(6) and 11 CCR 7062: the identity could not be verified). The confirmation button stops working, the
 * identities the request kept are dropped, and the person is told, all in one transaction.
 */
export async function denyRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: { tenantId?: string | undefined; requestId: string; reasonCode: unknown; actor: Actor },
): Promise<{
  id: string;
  reference: string;
  status: 'denied';
  deny_reason: DenialReason;
  notified: boolean;
}> {
  const reason = input.reasonCode;
  if (typeof reason !== 'string' || !(DENIAL_REASONS as readonly string[]).includes(reason)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'reason_code' },
      `reason_code must be one of ${DENIAL_REASONS.join(', ')}`,
    );
  }
  const request = await repo.lockById(tx, input.requestId);
  if (!request || (input.tenantId !== undefined && request.tenant_id !== input.tenantId)) {
    throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  }
  if (!DENIABLE.includes(request.status)) {
    throw new AppError(
      'CONFLICT',
      { status: request.status },
      'only a request not yet carried out can be denied',
    );
  }
  const recipient = messagingRecipient(requestIdentities(deps.keyring, request));
  await repo.update(tx, request.id, {
    status: 'denied',
    deny_reason: reason,
    confirmation_hash: null,
    identities: null,
    completed_at: deps.clock(),
  });
  if (recipient) {
    await enqueueNotification(tx, deps, {
      tenantId: request.tenant_id,
      requestId: request.id,
      recipient,
      kind: 'request_denied',
      params: { reference: request.reference, request_type: request.type, reason },
    });
  }
  await deps.audit(tx, {
    tenantId: request.tenant_id,
    type: 'request.denied',
    actor: input.actor,
    subject: { subjectRef: request.subject_ref },
    requestId: request.id,
    data: { reason: reason as DenialReason, notified: recipient !== undefined },
  });
  return {
    id: request.id,
    reference: request.reference,
    status: 'denied',
    deny_reason: reason as DenialReason,
    notified: recipient !== undefined,
  };
}
