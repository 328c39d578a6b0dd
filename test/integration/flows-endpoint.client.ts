import crypto, { type KeyObject } from 'node:crypto';
import { decryptFlowResponse, encryptFlowRequest } from '../../src/lib/crypto/flow-crypto.js';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import type { Identity } from '../../src/lib/phone.js';
import { createFlowTokens } from '../../src/modules/flows/index.js';
import type { TestApp } from '../helpers/test-app.js';
import { TEST_APP_SECRET } from '../helpers/test-app.js';

/** What the WhatsApp client does against flowguard's Flows endpoint, for the flows-endpoint tests. */

export interface FlowCallResult {
  status: number;
  contentType: string;
  raw: string;
  /** The decrypted answer of a 200. */
  answer?: Record<string, unknown>;
}

export async function publicKeyOf(t: TestApp, tenantId?: string): Promise<KeyObject> {
  const tenant = tenantId ? await t.ctx.tenants.get(tenantId) : await t.ctx.tenants.getDefault();
  if (!tenant.flowsPrivateKey) throw new Error('tenant has no Flows key');
  return crypto.createPublicKey(tenant.flowsPrivateKey);
}

export async function callFlow(
  t: TestApp,
  payload: object,
  opts: { url?: string; appSecret?: string; publicKey?: KeyObject; signature?: string | null } = {},
): Promise<FlowCallResult> {
  const enc = encryptFlowRequest(payload, opts.publicKey ?? (await publicKeyOf(t)));
  const body = JSON.stringify(enc.body);
  const res = await postRaw(t, body, {
    url: opts.url,
    signature:
      opts.signature === undefined
        ? signMetaBody(Buffer.from(body), opts.appSecret ?? TEST_APP_SECRET)
        : opts.signature,
  });
  if (res.status === 200) {
    res.answer = decryptFlowResponse(res.raw, enc.aesKey, enc.iv) as Record<string, unknown>;
  }
  return res;
}

export async function postRaw(
  t: TestApp,
  body: string | Buffer,
  opts: { url?: string | undefined; signature?: string | null | undefined; contentType?: string } = {},
): Promise<FlowCallResult> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  if (typeof opts.signature === 'string') headers['x-hub-signature-256'] = opts.signature;
  const res = await t.app.inject({
    method: 'POST',
    url: opts.url ?? '/flows/endpoint',
    headers,
    payload: body,
  });
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), raw: res.body };
}

export function signed(body: string | Buffer, secret = TEST_APP_SECRET): string {
  return signMetaBody(Buffer.from(body), secret);
}

export async function issueToken(
  t: TestApp,
  identity: Identity,
  opts: { tenantId?: string; ttlSeconds?: number } = {},
): Promise<{ token: string; tokenId: string; subjectId: string }> {
  const tenantId = opts.tenantId ?? (await t.ctx.tenants.getDefault()).id;
  const tokens = createFlowTokens({
    db: t.ctx.database.db,
    subjects: t.ctx.subjects,
    clock: t.ctx.clock,
    ttlSeconds: t.ctx.config.flowTokenTtlSeconds,
  });
  return t.ctx.database.db
    .transaction()
    .execute((tx) => tokens.issue(tx, tenantId, identity, 'privacy_center', opts.ttlSeconds));
}
