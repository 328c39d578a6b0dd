import type { Kysely } from 'kysely';
import type { DB } from '../../../lib/db/schema.js';
import { AppError } from '../../../lib/errors.js';
import { verifyAndExecute } from '../../dsr/index.js';
import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { actorOf } from '../admin.types.js';
import { scopeTenant } from '../tenant-scope.js';

/**
 * Why staff may let a request go ahead that the person has not confirmed in WhatsApp: they verified the person
 * another way (GDPR Art. 12(6) asks for reasonable verification, not for one channel; CCPA 11 CCR 7060-7063
 * likewise, and 7063 covers an authorized agent acting for the consumer).
 */
export const APPROVAL_REASONS = [
  'verified_in_person',
  'verified_by_document',
  'verified_by_callback',
  'authorized_agent',
] as const;
export type ApprovalReason = (typeof APPROVAL_REASONS)[number];

/**
 * A privacy officer approves a request awaiting the person's confirmation: it is verified as `staff_approval`
 * and carried out at once, exactly as a confirmed one. Only `awaiting_verification` requests (409 otherwise).
 * `request.approved` (who, why) is written in the same transaction as the verification and the erasure.
 */
export async function approveRequest(
  tx: Kysely<DB>,
  deps: Pick<AdminDeps, 'dsr' | 'audit'>,
  principal: AdminPrincipal,
  input: { requestId: string; reason: ApprovalReason },
): Promise<{ id: string; reference: string; status: string }> {
  const tenantId = scopeTenant(principal);
  let q = tx.selectFrom('privacy_requests').selectAll().where('id', '=', input.requestId);
  if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
  const request = await q.forUpdate().executeTakeFirst();
  if (!request) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
  if (request.status !== 'awaiting_verification') {
    throw new AppError(
      'CONFLICT',
      { status: request.status },
      'only a request awaiting verification can be approved',
    );
  }
  await deps.audit(tx, {
    tenantId: request.tenant_id,
    type: 'request.approved',
    actor: actorOf(principal),
    subject: { subjectRef: request.subject_ref },
    requestId: request.id,
    data: { reason: input.reason },
  });
  return verifyAndExecute(tx, deps.dsr, request, 'staff_approval');
}
