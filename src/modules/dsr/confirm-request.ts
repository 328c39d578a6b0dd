import type { Kysely } from 'kysely';
import { hashToken } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import type { DsrDeps } from './dsr.types.js';
import { verifyAndExecute, type CreatedRequest } from './create-request.js';
import { auditSubjectRef, auditSubjectRefs } from '../audit/index.js';
import { blindIndexes } from '../subjects/index.js';
import { loadSubjectIdentities } from './subject-identities.js';
import { asOneOperation } from './one-operation.js';

export const CONFIRM_PREFIX = 'fgconfirm:';

/**
 * The person confirmed a staff- or API-made request by tapping the button flowguard sent them. The button id
 * carries a one-time token; the reply must come, signed by Meta, from the same person the request is about.
 * Returns undefined when the token is unknown or the sender is someone else (refused and audited).
 */
export function confirmRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: { tenantId: string; buttonId: string; senderSubjectId: string },
): Promise<Omit<CreatedRequest, 'joined'> | undefined> {
  return asOneOperation(tx, deps, () => confirm(tx, deps, input));
}

async function confirm(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: { tenantId: string; buttonId: string; senderSubjectId: string },
): Promise<Omit<CreatedRequest, 'joined'> | undefined> {
  if (!input.buttonId.startsWith(CONFIRM_PREFIX)) return undefined;
  const hash = hashToken(input.buttonId.slice(CONFIRM_PREFIX.length));
  const request = await tx
    .selectFrom('privacy_requests')
    .selectAll()
    .where('confirmation_hash', '=', hash)
    .where('tenant_id', '=', input.tenantId)
    .where('status', '=', 'awaiting_verification')
    .forUpdate()
    .executeTakeFirst();
  if (!request) return undefined;
  const senderRef = auditSubjectRef(deps.keyring, { subjectId: input.senderSubjectId });
  // The sender under every held audit key version: a request recorded before a new version still matches.
  const isSender = auditSubjectRefs(deps.keyring, { subjectId: input.senderSubjectId }).includes(
    request.subject_ref,
  );
  if (!isSender && (await namesSender(tx, deps, request, input))) {
    // Staff named someone flowguard did not know yet; the signed tap comes from that very identity.
    await tx
      .updateTable('privacy_requests')
      .set({ subject_id: input.senderSubjectId })
      .where('id', '=', request.id)
      .execute();
    return verifyAndExecute(
      tx,
      deps,
      { ...request, subject_id: input.senderSubjectId },
      'whatsapp_confirmation',
    );
  }
  if (!isSender) {
    await deps.audit(tx, {
      tenantId: input.tenantId,
      type: 'request.refused',
      actor: { type: 'subject' },
      subject: { subjectRef: senderRef },
      requestId: request.id,
      data: { reason: 'sender_mismatch' },
    });
    return undefined;
  }
  return verifyAndExecute(tx, deps, request, 'whatsapp_confirmation');
}

/** A request about a then-unknown person is keyed on the blind index of the identity staff gave. */
async function namesSender(
  tx: Kysely<DB>,
  deps: DsrDeps,
  request: { subject_id: string | null; subject_ref: string },
  input: { tenantId: string; senderSubjectId: string },
): Promise<boolean> {
  if (request.subject_id !== null) return false;
  const identities = await loadSubjectIdentities(tx, deps.subjectKeys, input.senderSubjectId);
  return identities.some((identity) =>
    auditSubjectRefs(deps.keyring, {
      blindIndexes: blindIndexes(deps.keyring, input.tenantId, identity),
    }).includes(request.subject_ref),
  );
}
