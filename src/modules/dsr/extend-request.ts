import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { addDays, maxExtendedDue, type Regime } from './deadlines.js';
import { createDsrRepo, OPEN_STATUSES } from './dsr.repo.js';
import type { Actor, DsrDeps } from './dsr.types.js';
import { enqueueNotification } from './notify.js';
import { requestIdentities } from './request-identities.js';
import { messagingRecipient } from './subject-identities.js';

const repo = createDsrRepo();

export const EXTENSION_REASONS = ['complexity', 'number_of_requests', 'awaiting_information'] as const;
export type ExtensionReason = (typeof EXTENSION_REASONS)[number];

export interface ExtendedRequest {
  id: string;
  reference: string;
  regime: string;
  due_at: string;
  original_due_at: string;
  extension_reason: ExtensionReason;
  /** Whether the person is being told (a WhatsApp message with the reason and the new date). */
  notified: boolean;
}

/**
 * Push a request's deadline out, within what the law allows (GDPR Art. 12(3): two further months, the person
 * told why within the first month; CCPA 1798.130: once, by up to 45 days, with notice). The new due date is
 * capped by maxExtendedDue; an extension asked for after the deadline, beyond the cap, or a second one under
 * the CCPA is refused. The person is told, with the reason, in the same transaction.
 */
export async function extendRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: {
    tenantId?: string | undefined;
    requestId: string;
    days: unknown;
    reasonCode: unknown;
    actor: Actor;
  },
): Promise<ExtendedRequest> {
  const days = input.days;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 92) {
    throw new AppError('VALIDATION_FAILED', { field: 'days' }, 'days must be an integer from 1 to 92');
  }
  const reason = input.reasonCode;
  if (typeof reason !== 'string' || !(EXTENSION_REASONS as readonly string[]).includes(reason)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'reason_code' },
      `reason_code must be one of ${EXTENSION_REASONS.join(', ')}`,
    );
  }
  const request = await repo.lockById(tx, input.requestId);
  if (!request || (input.tenantId !== undefined && request.tenant_id !== input.tenantId)) {
    throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  }
  if (!OPEN_STATUSES.includes(request.status)) {
    throw new AppError('CONFLICT', { status: request.status }, 'the request is closed');
  }
  const now = deps.clock();
  const due = new Date(request.due_at);
  if (now > due) {
    throw new AppError(
      'CONFLICT',
      { reason: 'deadline_passed' },
      'an extension must be given before the deadline',
    );
  }
  const regime = (request.regime === 'ccpa' ? 'ccpa' : 'gdpr') as Regime;
  const extended = due.getTime() !== new Date(request.original_due_at).getTime();
  if (regime === 'ccpa' && extended) {
    throw new AppError('CONFLICT', { reason: 'already_extended' }, 'the CCPA allows one extension');
  }
  const cap = maxExtendedDue(regime, new Date(request.received_at));
  const wanted = addDays(due, days);
  const next = wanted > cap ? cap : wanted;
  if (next <= due) {
    throw new AppError(
      'CONFLICT',
      { reason: 'at_maximum' },
      'the deadline is already at the longest extension allowed',
    );
  }
  await repo.update(tx, request.id, { due_at: next, extension_reason: reason });

  const recipient = messagingRecipient(requestIdentities(deps.keyring, request));
  if (recipient) {
    await enqueueNotification(tx, deps, {
      tenantId: request.tenant_id,
      requestId: request.id,
      recipient,
      kind: 'request_extended',
      params: { reference: request.reference, reason, due_date: next.toISOString().slice(0, 10) },
    });
  }
  await deps.audit(tx, {
    tenantId: request.tenant_id,
    type: 'request.extended',
    actor: input.actor,
    subject: { subjectRef: request.subject_ref },
    requestId: request.id,
    data: {
      regime,
      extra_days: Math.round((next.getTime() - due.getTime()) / 86_400_000),
      notified: recipient !== undefined,
      reason: reason as ExtensionReason,
    },
  });
  return {
    id: request.id,
    reference: request.reference,
    regime,
    due_at: next.toISOString(),
    original_due_at: new Date(request.original_due_at).toISOString(),
    extension_reason: reason as ExtensionReason,
    notified: recipient !== undefined,
  };
}
