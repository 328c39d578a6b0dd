import type { KeyObject } from 'node:crypto';
import {
  decryptFlowRequest,
  decryptFlowRequestWith,
  encryptFlowResponse,
  FlowRequestError,
  type DecryptedFlowRequest,
} from '../../lib/crypto/flow-crypto.js';
import { verifyMetaSignature } from '../../lib/crypto/meta-signature.js';
import { isAppError } from '../../lib/errors.js';
import type { Tenant } from '../tenants/index.js';
import { createFlowTokens, type VerifiedFlowToken } from './flow-tokens.js';
import { dispatchFlowScreen, type FlowHandlerDeps, type FlowScreenAction } from './screen-handlers.js';
import type { SubjectSummary } from './subject-summary.js';

/**
 * One call to the Flows data endpoint, in Meta's order: signature (432) → decryption (421) → health check and
 * error notifications → flow token (427) → the screen handler of the token's purpose. Anything after decryption
 * that goes wrong is answered with an encrypted error snackbar, so the endpoint never answers 5xx.
 */

export type FlowActionLabel = 'ping' | 'error_notification' | FlowScreenAction | 'other' | 'undecrypted';

export type FlowEndpointResult =
  | { status: 200; action: FlowActionLabel; encrypted: string }
  | { status: 421 | 427 | 432; action: FlowActionLabel; json: Record<string, unknown> };

export interface FlowEndpointRequest {
  tenant: Tenant;
  rawBody: Buffer | undefined;
  signature: string | string[] | undefined;
  body: unknown;
  jsonInvalid: boolean;
}

/** What the person sees when the CTA is disabled (427). Meta documents this body as plain JSON. */
export const TOKEN_INVALID_MESSAGE = 'This link has expired. Please ask us for a new one.';
export const UNSUPPORTED_MESSAGE = 'Sorry, this step is not available. Please try again later.';
export const FAILURE_MESSAGE = 'Something went wrong. Please try again.';

const SCREEN_NAME = /^[A-Za-z0-9_]{1,80}$/;
const SCREEN_ACTIONS: readonly string[] = ['INIT', 'BACK', 'data_exchange'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function handleFlowRequest(
  deps: FlowHandlerDeps & {
    /** The RSA step elsewhere (worker threads); inline without it. */
    unwrapKey?: (key: KeyObject, wrapped: Buffer) => Promise<Buffer | undefined>;
  },
  req: FlowEndpointRequest,
): Promise<FlowEndpointResult> {
  const { tenant } = req;
  if (!verifyMetaSignature(req.rawBody ?? Buffer.alloc(0), req.signature, tenant.secrets.appSecret)) {
    return { status: 432, action: 'undecrypted', json: { error: { code: 'FLOW_BAD_SIGNATURE' } } };
  }
  const cannotDecrypt = {
    status: 421,
    action: 'undecrypted',
    json: { error: { code: 'FLOW_DECRYPT_FAILED' } },
  } as const;
  if (!tenant.flowsPrivateKey) {
    deps.logger.warn({ tenant: tenant.id }, 'flows endpoint called but the tenant has no usable private key');
    return cannotDecrypt;
  }
  if (req.jsonInvalid || req.body === undefined) return cannotDecrypt;
  let decrypted: DecryptedFlowRequest;
  try {
    decrypted = deps.unwrapKey
      ? await decryptFlowRequestWith(req.body, tenant.flowsPrivateKey, deps.unwrapKey)
      : decryptFlowRequest(req.body, tenant.flowsPrivateKey);
  } catch (err) {
    if (!(err instanceof FlowRequestError)) throw err;
    deps.logger.debug(
      { tenant: tenant.id, kind: err.kind, reason: err.reason },
      'flow request not decrypted',
    );
    return cannotDecrypt;
  }

  const { payload, aesKey, iv } = decrypted;
  const encrypt = (action: FlowActionLabel, message: Record<string, unknown>): FlowEndpointResult => ({
    status: 200,
    action,
    encrypted: encryptFlowResponse(message, aesKey, iv),
  });
  const screen = typeof payload.screen === 'string' ? payload.screen : undefined;
  const snackbar = (action: FlowActionLabel, message: string) =>
    encrypt(action, {
      ...(screen && SCREEN_NAME.test(screen) ? { screen } : {}),
      data: { error_message: message },
    });

  const action = payload.action;
  if (action === 'ping') return encrypt('ping', { data: { status: 'active' } });
  const data = isRecord(payload.data) ? payload.data : {};
  if (data.error !== undefined && data.error !== null) {
    const code =
      typeof data.error === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(data.error) ? data.error : 'other';
    deps.logger.info({ tenant: tenant.id, error: code }, 'flow client reported an error');
    return encrypt('error_notification', { data: { acknowledged: true } });
  }
  if (typeof action !== 'string' || !SCREEN_ACTIONS.includes(action)) {
    return snackbar('other', UNSUPPORTED_MESSAGE);
  }
  const screenAction = action as FlowScreenAction;

  try {
    const tokens = createFlowTokens({
      db: deps.database.db,
      subjects: deps.subjects,
      clock: deps.clock,
      ttlSeconds: deps.config.flowTokenTtlSeconds,
    });
    // INIT and BACK open a home screen that shows the subject's summary: read it with the token.
    const opensScreen = screenAction === 'INIT' || screenAction === 'BACK';
    let verified: VerifiedFlowToken & { summary?: SubjectSummary };
    try {
      verified = opensScreen
        ? await tokens.verifyWithSummary(tenant.id, payload.flow_token)
        : await tokens.verify(tenant.id, payload.flow_token);
    } catch (err) {
      if (!isAppError(err, 'FLOW_TOKEN_INVALID')) throw err;
      deps.logger.info({ tenant: tenant.id, reason: err.details.reason }, 'flow token refused');
      return { status: 427, action: screenAction, json: { error_msg: TOKEN_INVALID_MESSAGE } };
    }
    const response = await dispatchFlowScreen(
      verified.purpose,
      {
        tenant,
        subjectId: verified.subjectId,
        tokenId: verified.tokenId,
        flowToken: payload.flow_token as string,
        action: screenAction,
        screen,
        data,
        summary: verified.summary,
      },
      deps,
    );
    return response ? encrypt(screenAction, { ...response }) : snackbar(screenAction, UNSUPPORTED_MESSAGE);
  } catch (err) {
    deps.logger.error({ err, tenant: tenant.id, action: screenAction }, 'flow screen handler failed');
    return snackbar(screenAction, FAILURE_MESSAGE);
  }
}
