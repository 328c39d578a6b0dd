import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app/context.js';
import { AppError } from '../../lib/errors.js';
import type { DsrDeps } from '../dsr/index.js';
import type { Tenant } from '../tenants/index.js';
import { findDeletionStatus } from './deletion-status.js';
import { readFormField } from './form-body.js';
import { recordDeletionRequest } from './record-deletion-request.js';
import {
  readDeletionPayload,
  SignedRequestError,
  signedBy,
  splitSignedRequest,
  type SplitSignedRequest,
} from './signed-request.js';
import { referenceOfStatusCode, statusCodeFor } from './status-code.js';
import { renderNotFoundPage, renderStatusPage } from './status-page.js';

export const DATA_DELETION_PATH = '/meta/data-deletion';
export const STATUS_PATH = '/meta/data-deletion/status';

export type MetaCallbackDeps = Pick<AppContext, 'config' | 'database' | 'tenants' | 'logger' | 'keyring'> & {
  dsr: DsrDeps;
};

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** Where the person's browser reaches this service: FLOWGUARD_PUBLIC_URL, else the address the caller used. */
function publicBase(deps: MetaCallbackDeps, req: FastifyRequest): string {
  if (deps.config.server.publicUrl) return deps.config.server.publicUrl.replace(/\/+$/, '');
  const host = HOST.test(req.host) ? req.host : 'localhost';
  return `${req.protocol === 'https' ? 'https' : 'http'}://${host}`;
}

function refused(fault: SignedRequestError['fault']): AppError {
  return fault === 'bad_signature'
    ? new AppError('BAD_SIGNATURE', {}, 'signed_request signature is invalid')
    : new AppError('BAD_REQUEST', { reason: fault }, `signed_request refused: ${fault.replace(/_/g, ' ')}`);
}

/**
 * The tenant whose app secret signed the request; each distinct secret is checked once, in constant time. When
 * several tenants share one Meta app (one secret), the default tenant wins, else the first by id.
 */
function signingTenant(req: SplitSignedRequest, tenants: Tenant[]): Tenant | undefined {
  const verdict = new Map<string, boolean>();
  for (const t of tenants) {
    const secret = t.secrets.appSecret;
    if (!verdict.has(secret)) verdict.set(secret, signedBy(req, secret));
  }
  const signers = tenants
    .filter((t) => verdict.get(t.secrets.appSecret) === true)
    .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || (a.id < b.id ? -1 : 1));
  return signers[0];
}

/**
 * Meta's data deletion callback (Facebook Login apps; PROTOCOL.md). `POST /meta/data-deletion` with the form field
 * `signed_request`: 415 when not a form, 400 malformed (or wrong algorithm, stale, missing field), 401 bad
 * signature, 409 replay, else 200 `{url, confirmation_code}`. `GET /meta/data-deletion/status/:code` shows the
 * request's state to the person (HTML, or JSON with `Accept: application/json`); 404 for an unknown code.
 */
export function registerMetaCallbackRoutes(app: FastifyInstance, deps: MetaCallbackDeps): void {
  app.post(DATA_DELETION_PATH, async (req, reply) => {
    const value = readFormField(req, 'signed_request');
    let split: SplitSignedRequest;
    try {
      split = splitSignedRequest(value);
    } catch (err) {
      if (err instanceof SignedRequestError) throw refused(err.fault);
      throw err;
    }
    const tenant = signingTenant(split, await deps.tenants.all());
    if (!tenant) {
      deps.logger.warn('meta data deletion callback: signature rejected');
      throw refused('bad_signature');
    }
    let payload;
    try {
      payload = readDeletionPayload(split, deps.dsr.clock());
    } catch (err) {
      if (!(err instanceof SignedRequestError)) throw err;
      deps.logger.warn({ tenant: tenant.id, reason: err.fault }, 'meta data deletion callback refused');
      throw refused(err.fault);
    }
    const created = await deps.database.db
      .transaction()
      .execute((tx) =>
        recordDeletionRequest(tx, deps.dsr, { tenant, encodedPayload: split.encodedPayload, payload }),
      );
    deps.logger.info(
      { tenant: tenant.id, request: created.id, status: created.status },
      'meta data deletion request recorded',
    );
    const code = statusCodeFor(deps.keyring, created.reference);
    return reply.code(200).send({
      url: `${publicBase(deps, req)}${STATUS_PATH}/${code}`,
      confirmation_code: created.reference,
    });
  });

  app.get<{ Params: { code: string } }>(`${STATUS_PATH}/:code`, async (req, reply) => {
    const wantsJson = /\bapplication\/json\b/.test(String(req.headers.accept ?? ''));
    const reference = referenceOfStatusCode(deps.keyring, req.params.code);
    const status = reference ? await findDeletionStatus(deps.database.db, reference) : undefined;
    void reply
      .header('cache-control', 'no-store')
      .header('x-robots-tag', 'noindex')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    if (!status) {
      if (wantsJson) throw new AppError('NOT_FOUND', { resource: 'request' }, 'no such request');
      return reply.code(404).type('text/html; charset=utf-8').send(renderNotFoundPage());
    }
    if (wantsJson) return reply.code(200).send(status);
    return reply.code(200).type('text/html; charset=utf-8').send(renderStatusPage(status));
  });
}
