import fs from 'node:fs';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../errors.js';
import type { Metrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes received: signatures are computed over these, never over re-serialised JSON. */
    rawBody?: Buffer;
    /** Set when the body was not valid JSON; routes that need JSON answer 400. */
    jsonInvalid?: boolean;
  }
}

/** Meta's documented webhook payload limit. */
export const BODY_LIMIT = 3 * 1024 * 1024;

export interface HttpOptions {
  logger: Logger;
  metrics: Metrics;
  tls?: { certFile: string; keyFile: string; clientCaFile: string | undefined } | undefined;
  /**
   * Proxies whose X-Forwarded-For is believed (addresses, CIDR ranges, loopback / linklocal / uniquelocal).
   * Anyone else's header is ignored: a client talking to flowguard directly cannot pick its own address to
   * dodge the per-address sign-in lock. Default: none.
   */
  trustedProxies?: string[] | false | undefined;
}

export function createHttpServer(opts: HttpOptions): FastifyInstance {
  const https = opts.tls
    ? {
        cert: fs.readFileSync(opts.tls.certFile),
        key: fs.readFileSync(opts.tls.keyFile),
        ...(opts.tls.clientCaFile
          ? { ca: fs.readFileSync(opts.tls.clientCaFile), requestCert: true, rejectUnauthorized: true }
          : {}),
      }
    : null;
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    trustProxy: opts.trustedProxies ? opts.trustedProxies.join(',') : false,
    return503OnClosing: true,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;

  // Keep the raw bytes for every JSON body; parse leniently so each route decides between 400 and 401.
  // Meta's Flows endpoint and some proxies send JSON under other types, so every type is read the same way.
  const keepRawParseJson = (
    req: FastifyRequest,
    body: Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ) => {
    req.rawBody = body;
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch {
      req.jsonInvalid = true;
      done(null, undefined);
    }
  };
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, keepRawParseJson);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, keepRawParseJson);

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    opts.metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setNotFoundHandler((_req, reply) => {
    void reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } });
  });

  app.setErrorHandler(
    (err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
      if (isAppError(err)) return sendError(reply, err);
      const status = err.statusCode ?? 500;
      if (status === 413) return sendError(reply, new AppError('PAYLOAD_TOO_LARGE', {}, 'body exceeds 3 MB'));
      if (status === 415) {
        return sendError(
          reply,
          new AppError('UNSUPPORTED_MEDIA_TYPE', {}, 'Content-Type is not a valid media type'),
        );
      }
      if (err.validation) return sendError(reply, new AppError('VALIDATION_FAILED', {}, err.message));
      if (status >= 400 && status < 500) {
        return reply
          .code(status)
          .send({ error: { code: err.code ?? 'BAD_REQUEST', message: 'bad request' } });
      }
      req.log.error({ err, route: req.routeOptions.url }, 'unhandled error');
      return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
    },
  );

  return app;
}

export function sendError(reply: FastifyReply, err: AppError): FastifyReply {
  return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...err.details } });
}

/** Parsed JSON body or a 400 when the route needs JSON and did not get it. */
export function requireJson(req: FastifyRequest): unknown {
  if (req.jsonInvalid) throw new AppError('INVALID_JSON', {}, 'body is not valid JSON');
  if (req.body === undefined) throw new AppError('INVALID_JSON', {}, 'a JSON body is required');
  return req.body;
}
