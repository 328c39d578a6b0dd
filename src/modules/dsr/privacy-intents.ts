import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { toE164 } from '../../lib/phone.js';
import type { MessageEvent } from '../whatsapp/parse-webhook.js';
import type { PrivacyIntents } from '../whatsapp/ingest-deps.js';
import type { Tenant } from '../tenants/index.js';
import { auditSubjectRef } from '../audit/index.js';
import { ERASABLE_SCOPES, type ErasureScope } from './categories.js';
import { CONFIRM_PREFIX, confirmRequest } from './confirm-request.js';
import { createRequest } from './create-request.js';
import type { DsrDeps } from './dsr.types.js';
import type { PrivacyRequestType } from '../../lib/db/schema.js';

/** Meta delivers a Flow's completion message within seconds; a day covers its retries. */
const ECHO_WINDOW_MS = 24 * 3600 * 1000;

/** `response_json.action` values a Flow without an endpoint may complete with (the first is the seed's payload). */
const FLOW_ACTIONS: Record<string, PrivacyRequestType> = {
  data_deletion_request: 'erasure',
  data_access_request: 'access',
  marketing_opt_out: 'opt_out',
};

/**
 * Does an identifier written inside a payload body belong to the verified sender? It is never trusted to pick
 * whose data to act on; it can only make flowguard refuse a request that names someone else.
 */
function namesSomeoneElse(claimed: unknown, event: MessageEvent): boolean {
  if (claimed === undefined || claimed === null || claimed === '') return false;
  const value = String(claimed).trim();
  if (event.from.bsuid && value === event.from.bsuid) return false;
  const phone = toE164(value);
  return !(phone && event.from.phone && phone === event.from.phone);
}

export function createPrivacyIntents(deps: DsrDeps): PrivacyIntents {
  async function refuse(
    tx: Kysely<DB>,
    tenant: Tenant,
    subjectId: string,
    reason: 'sender_mismatch' | 'invalid_scope',
  ) {
    await deps.audit(tx, {
      tenantId: tenant.id,
      type: 'request.refused',
      actor: { type: 'subject' },
      subject: { subjectRef: auditSubjectRef(deps.keyring, { subjectId }) },
      data: { reason },
    });
    deps.logger.warn({ tenant: tenant.id, reason }, 'privacy request refused');
  }

  async function fromFlowCompletion(tx: Kysely<DB>, tenant: Tenant, subjectId: string, event: MessageEvent) {
    const payload = event.flowReply?.parsed;
    const type = typeof payload?.action === 'string' ? FLOW_ACTIONS[payload.action] : undefined;
    if (!payload || !type) return;
    if (namesSomeoneElse(payload.user_id, event) || namesSomeoneElse(payload.phone, event)) {
      return refuse(tx, tenant, subjectId, 'sender_mismatch');
    }
    const scope = type === 'erasure' ? String(payload.scope ?? 'all') : 'all';
    if (!(ERASABLE_SCOPES as readonly string[]).includes(scope))
      return refuse(tx, tenant, subjectId, 'invalid_scope');
    await createRequest(tx, deps, {
      tenant,
      type,
      scope: scope as ErasureScope,
      channel: 'webhook',
      subject: { subjectId },
      verification: 'signed_webhook',
      actor: { type: 'subject' },
    });
  }

  return {
    async isErasureEcho(tx, { tenant, event }) {
      const requestId = event.flowReply?.parsed?.request_id;
      if (typeof requestId !== 'string' || !/^[0-9a-f-]{36}$/i.test(requestId)) return false;
      const since = new Date(deps.clock().getTime() - ECHO_WINDOW_MS);
      const done = await tx
        .selectFrom('privacy_requests')
        .select('id')
        .where('id', '=', requestId)
        .where('tenant_id', '=', tenant.id)
        .where('type', '=', 'erasure')
        .where('scope', '=', 'all')
        .where('status', '=', 'completed')
        .where('completed_at', '>', since)
        .executeTakeFirst();
      return done !== undefined;
    },
    async onMessage(tx, { tenant, subjectId, event }) {
      if (event.replyId?.startsWith(CONFIRM_PREFIX)) {
        await confirmRequest(tx, deps, {
          tenantId: tenant.id,
          buttonId: event.replyId,
          senderSubjectId: subjectId,
        });
        return;
      }
      if (event.flowReply) await fromFlowCompletion(tx, tenant, subjectId, event);
      if (event.isStopKeyword) {
        await createRequest(tx, deps, {
          tenant,
          type: 'opt_out',
          channel: 'keyword',
          subject: { subjectId },
          verification: 'signed_webhook',
          actor: { type: 'subject' },
        });
      }
    },
    async onPreference(tx, { tenant, subjectId, identities, value }) {
      if (value !== 'stop' || (!subjectId && identities.length === 0)) return;
      await createRequest(tx, deps, {
        tenant,
        type: 'opt_out',
        channel: 'preference',
        subject: subjectId ? { subjectId } : { identity: identities[0]! },
        verification: 'signed_webhook',
        actor: { type: 'subject' },
      });
    },
  };
}
