import { ERASABLE_SCOPES, createRequest, type ErasureScope } from '../dsr/index.js';
import { createFlowTokens } from './flow-tokens.js';
import {
  CONFIRM_DELETE,
  confirmDeleteData,
  dsrDepsOf,
  SUCCESS,
  withSnackbar,
} from './privacy-center-screens.js';
import type { FlowHandler } from './screen-handlers.js';

/**
 * The deletion submit (`data_exchange` from CONFIRM_DELETE with `{request: "erasure", scope, confirmed}`).
 * Without `confirmed: true` or with a scope that is not erasable the person stays on the screen with a
 * snackbar and nothing is written. Otherwise, in one transaction: the flow token is claimed (locked, checked
 * unused, marked used — it proved who is asking and cannot be replayed), the erasure request is created
 * verified by that token and executed (own-store data purged, audit events, jobs for the data map's systems,
 * the confirmation message queued). The answer completes the Flow: `SUCCESS` with
 * `extension_message_response.params` `{flow_token, request_id}`.
 */

export const CONFIRM_REQUIRED = 'Please tick the box to confirm that you want your data deleted.';
export const SCOPE_REQUIRED = 'Please choose what you would like us to delete.';
export const TOKEN_USED = 'This link has already been used. Please ask us for a new one.';

export const privacyEraseHandler: FlowHandler = async (req, deps) => {
  if (req.action !== 'data_exchange' || req.screen !== CONFIRM_DELETE) return undefined;
  const db = deps.database.db;
  const stay = async (message: string) =>
    withSnackbar(CONFIRM_DELETE, await confirmDeleteData(db, req.tenant, req.subjectId), message);

  if (req.data.confirmed !== true) return stay(CONFIRM_REQUIRED);
  const scope = req.data.scope;
  if (typeof scope !== 'string' || !(ERASABLE_SCOPES as readonly string[]).includes(scope)) {
    return stay(SCOPE_REQUIRED);
  }

  const tokens = createFlowTokens({
    db,
    subjects: deps.subjects,
    clock: deps.clock,
    ttlSeconds: deps.config.flowTokenTtlSeconds,
  });
  const created = await db.transaction().execute(async (tx) => {
    const token = await tx
      .selectFrom('flow_tokens')
      .select(['used_at'])
      .where('id', '=', req.tokenId)
      .forUpdate()
      .executeTakeFirst();
    if (!token || token.used_at !== null) return undefined;
    await tokens.consume(tx, req.tokenId);
    return createRequest(tx, dsrDepsOf(deps), {
      tenant: req.tenant,
      type: 'erasure',
      scope: scope as ErasureScope,
      channel: 'flow',
      subject: { subjectId: req.subjectId },
      verification: 'flow_token',
      actor: { type: 'subject' },
    });
  });
  if (!created) return stay(TOKEN_USED);
  deps.logger.info(
    { tenant: req.tenant.id, request: created.id, scope, status: created.status, joined: created.joined },
    'erasure requested in the Privacy Center Flow',
  );
  return {
    screen: SUCCESS,
    data: { extension_message_response: { params: { flow_token: req.flowToken, request_id: created.id } } },
  };
};
