import crypto from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/errors.js';
import { verifyMetaSignature } from '../../lib/crypto/meta-signature.js';
import { requireJson } from '../../lib/http/http.js';
import type { Tenant } from '../tenants/index.js';
import { createWebhookIngest, type WebhookIngestDeps } from './ingest-webhook.js';
import { parseWebhook } from './parse-webhook.js';

export const WEBHOOK_PATH = '/webhooks/whatsapp';

/** Meta sends a number; anything printable up to 256 characters is echoed, nothing else. */
const CHALLENGE = /^[\x21-\x7e]{1,256}$/;

/**
 * The Cloud API webhook receiver (PROTOCOL.md "Webhooks"). GET: the subscription handshake. POST: checked in this
 * order: a body, a valid X-Hub-Signature-256 from some tenant's app secret (401), the 3 MB limit (413, fastify's
 * bodyLimit), JSON (400), the envelope (anything else is acknowledged as ignored so Meta does not retry it for
 * 7 days). Bad input never gives a 5xx; a database failure does (500), so Meta delivers again.
 */
export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookIngestDeps): void {
  const ingest = createWebhookIngest(deps);

  app.get(WEBHOOK_PATH, async (req, reply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const mode = q['hub.mode'];
    const token = q['hub.verify_token'];
    const challenge = q['hub.challenge'];
    const tenants = await deps.tenants.all();
    const tokenOk = typeof token === 'string' && matchesAny(token, tenants);
    if (mode !== 'subscribe' || !tokenOk) {
      deps.logger.warn('webhook verification refused');
      throw new AppError('FORBIDDEN', {}, 'verification refused');
    }
    if (typeof challenge !== 'string' || !CHALLENGE.test(challenge)) {
      throw new AppError('BAD_REQUEST', {}, 'hub.challenge must be 1-256 printable characters');
    }
    return reply.code(200).type('text/plain; charset=utf-8').send(challenge);
  });

  app.post(WEBHOOK_PATH, async (req, reply) => {
    const raw = req.rawBody;
    if (!raw || raw.length === 0) throw new AppError('BAD_REQUEST', {}, 'a body is required');
    const signers = await signingTenants(req, raw, await deps.tenants.all());
    if (signers.length === 0) {
      deps.logger.warn('webhook signature rejected');
      throw new AppError('BAD_SIGNATURE', {}, 'X-Hub-Signature-256 missing or invalid');
    }
    const body = requireJson(req);
    const parsed = parseWebhook(body, { withSource: true });
    if (!parsed.isEnvelope) {
      deps.metrics.webhookEvents.inc({ type: 'payload', outcome: 'ignored' });
      deps.logger.info('webhook body is not a whatsapp_business_account envelope; ignored');
      return reply.code(200).send({ status: 'ignored' });
    }
    const events = await ingest.ingest(signers, parsed);
    return reply.code(200).send({ status: 'ok', events });
  });
}

/** Tenants whose app secret signed these bytes; each distinct secret is checked once, in constant time. */
async function signingTenants(req: FastifyRequest, raw: Buffer, tenants: Tenant[]): Promise<Tenant[]> {
  const header = req.headers['x-hub-signature-256'];
  if (header === undefined) return [];
  const verdict = new Map<string, boolean>();
  for (const t of tenants) {
    const secret = t.secrets.appSecret;
    if (!verdict.has(secret)) verdict.set(secret, verifyMetaSignature(raw, header, secret));
  }
  return tenants.filter((t) => verdict.get(t.secrets.appSecret) === true);
}

/** Compares against every tenant's verify token without stopping early or leaking lengths. */
function matchesAny(token: string, tenants: Tenant[]): boolean {
  const digest = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest();
  const given = digest(token);
  let ok = false;
  for (const t of tenants) {
    if (crypto.timingSafeEqual(given, digest(t.secrets.verifyToken))) ok = true;
  }
  return ok;
}
