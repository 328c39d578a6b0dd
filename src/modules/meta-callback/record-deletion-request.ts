import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { auditSubjectRef, auditSubjectRefs } from '../audit/index.js';
import { createRequest, type DsrDeps } from '../dsr/index.js';
import type { Tenant } from '../tenants/index.js';
import type { DeletionPayload } from './signed-request.js';

export const REPLAY_KIND = 'meta_data_deletion';

const appUserMessage = (tenantId: string, userId: string) => `${tenantId}\u0000meta-app-user\u0000${userId}`;

/**
 * The keyed reference for a person known only by Meta's app-scoped user id. Built like a blind index
 * (`tenant \0 kind \0 value`) under the blind-index key, then turned into an audit subject reference, so the
 * same person gets the same reference on every callback and nobody without the master key can link it.
 */
export function appUserRef(deps: Pick<DsrDeps, 'keyring'>, tenantId: string, userId: string): string {
  const index = deps.keyring.hmac('blind-index', appUserMessage(tenantId, userId));
  return auditSubjectRef(deps.keyring, { blindIndex: index });
}

/**
 * Every reference the person may have been recorded under while older blind-index or audit key versions are
 * held: what finding their open request must accept (a callback before a new key version, one after it).
 */
export function appUserRefs(deps: Pick<DsrDeps, 'keyring'>, tenantId: string, userId: string): string[] {
  const indexes = deps.keyring.hmacAll('blind-index', appUserMessage(tenantId, userId));
  return auditSubjectRefs(deps.keyring, { blindIndexes: indexes });
}

/**
 * Record Meta's data deletion callback as an erasure request, inside the caller's transaction. The signed payload
 * is claimed first in processed_events (keyed hash of the signed bytes, looked up under every held key version),
 * so a replay of the same signed_request is refused. flowguard holds no WhatsApp identity for an app-scoped id, so the request has no own-store subject: it
 * completes at once for the own store (nothing held) and carries only the keyed reference.
 */
export async function recordDeletionRequest(
  tx: Kysely<DB>,
  deps: DsrDeps,
  input: { tenant: Tenant; encodedPayload: string; payload: DeletionPayload },
): Promise<{ id: string; reference: string; status: string }> {
  const signedHash = crypto.createHash('sha256').update(input.encodedPayload, 'utf8').digest('hex');
  const message = `${input.tenant.id}\u0000${REPLAY_KIND}\u0000${signedHash}`;
  const eventKey = deps.keyring.hmac('event-id', message);
  const earlier = await tx
    .selectFrom('processed_events')
    .select('event_key')
    .where('tenant_id', '=', input.tenant.id)
    .where('event_key', 'in', deps.keyring.hmacAll('event-id', message))
    .executeTakeFirst();
  const claimed = earlier
    ? undefined
    : await tx
        .insertInto('processed_events')
        .values({ tenant_id: input.tenant.id, event_key: eventKey, kind: REPLAY_KIND })
        .onConflict((oc) => oc.columns(['tenant_id', 'event_key']).doNothing())
        .returning('event_key')
        .executeTakeFirst();
  if (!claimed)
    throw new AppError('CONFLICT', { reason: 'replayed' }, 'this signed_request was already processed');

  const created = await createRequest(tx, deps, {
    tenant: input.tenant,
    type: 'erasure',
    scope: 'all',
    channel: 'meta_callback',
    subject: {
      externalRef: appUserRef(deps, input.tenant.id, input.payload.userId),
      externalRefs: appUserRefs(deps, input.tenant.id, input.payload.userId),
    },
    verification: 'meta_signed_request',
    actor: { type: 'subject' },
  });
  return { id: created.id, reference: created.reference, status: created.status };
}
