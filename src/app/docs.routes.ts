import type { FastifyInstance, HTTPMethods } from 'fastify';
import { adminOpenApiPaths, adminRoutes, adminSecuritySchemes } from '../modules/admin/index.js';
import { requestPaths, requestSchemas } from '../modules/dsr/index.js';

/**
 * The public HTTP contract as OpenAPI 3.1, hand-written (the source of truth for integrators), served as JSON at
 * `/docs/openapi.json` and as a small self-contained HTML page at `/docs`. An operation is published only when
 * this process really serves it (checked against the router), so the document never describes a missing route.
 */

type Operation = Record<string, unknown> & { summary: string; operationId: string; description?: string };
type PathItem = Partial<Record<'get' | 'post' | 'delete', Operation>>;

const errorBody = {
  description: 'Error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

const paths: Record<string, PathItem> = {
  ...requestPaths,
  ...(adminOpenApiPaths(adminRoutes) as Record<string, PathItem>),
  '/v1/flow-tokens': {
    post: {
      operationId: 'createFlowToken',
      summary: 'Issue a Flow token bound to one person',
      description:
        "Creates the subject if flowguard does not know the person yet. Put the token in the Flow message you send to that person (`flow_token`); the Flows endpoint then knows who is calling. The tenant is the API key's tenant.",
      tags: ['v1'],
      security: [{ apiKey: [] }],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/FlowTokenRequest' } } },
      },
      responses: {
        '201': {
          description: 'Token issued (shown once; flowguard stores only its hash)',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/FlowToken' } } },
        },
        '400': { ...errorBody, description: 'Body is not JSON, or the identity is missing or malformed' },
        '401': {
          ...errorBody,
          description: 'Missing, unknown or revoked API key (`WWW-Authenticate: Bearer`)',
        },
      },
    },
  },
  '/webhooks/whatsapp': {
    get: {
      operationId: 'verifyWebhook',
      summary: "Meta's webhook verification handshake",
      tags: ['meta'],
      parameters: ['hub.mode', 'hub.challenge', 'hub.verify_token'].map((name) => ({
        name,
        in: 'query',
        required: true,
        schema: { type: 'string' },
      })),
      responses: {
        '200': {
          description: 'The challenge, as text',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        '403': { description: 'Mode or verify token does not match' },
      },
    },
    post: {
      operationId: 'receiveWebhook',
      summary: 'Receive Cloud API webhooks (signed by Meta)',
      description:
        '`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>` is verified over the raw bytes.',
      tags: ['meta'],
      parameters: [{ $ref: '#/components/parameters/HubSignature' }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      responses: {
        '200': { description: 'Accepted (duplicates too)' },
        '400': { ...errorBody, description: 'Not JSON' },
        '401': { ...errorBody, description: 'Missing or bad signature' },
      },
    },
  },
  '/flows/endpoint': {
    post: flowsEndpoint('flowsEndpoint', 'WhatsApp Flows data endpoint (default tenant)'),
  },
  '/flows/endpoint/{tenantId}': {
    post: {
      ...flowsEndpoint('flowsEndpointForTenant', 'WhatsApp Flows data endpoint of one tenant'),
      parameters: [
        { $ref: '#/components/parameters/HubSignature' },
        {
          name: 'tenantId',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
        },
      ],
    },
  },
  '/meta/data-deletion': {
    post: {
      operationId: 'metaDataDeletion',
      summary: "Meta's data deletion callback (signed_request)",
      description:
        'Form field `signed_request` = `base64url(sig).base64url(payload)`, sig = HMAC-SHA256 of the encoded payload under the app secret (checked against every tenant, in constant time; the matching tenant owns the request). Payload `{algorithm: "HMAC-SHA256", issued_at, user_id}`: `issued_at` at most 24 h old and not in the future; `user_id` is the app-scoped id. Records an erasure request for that id; a replayed signed_request is refused.',
      tags: ['meta'],
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              required: ['signed_request'],
              properties: { signed_request: { type: 'string' } },
            },
          },
        },
      },
      responses: {
        '200': {
          description: 'Recorded',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/DataDeletionReceipt' } } },
        },
        '400': {
          ...errorBody,
          description: 'Malformed, missing field, wrong algorithm, stale or future `issued_at`',
        },
        '401': { ...errorBody, description: 'Signature does not match any tenant app secret' },
        '409': { ...errorBody, description: 'This signed_request was already processed (replay)' },
        '415': { ...errorBody, description: 'Not an application/x-www-form-urlencoded body' },
      },
    },
  },
  '/meta/data-deletion/status/{code}': {
    get: {
      operationId: 'metaDataDeletionStatus',
      summary: 'Status page of a data deletion request (the `url` of the callback answer)',
      description:
        'A small HTML page for the person (status, received and completed times; no personal data), or JSON with `Accept: application/json`.',
      tags: ['meta'],
      parameters: [{ name: 'code', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        '200': {
          description: 'The request status',
          content: {
            'text/html': {},
            'application/json': { schema: { $ref: '#/components/schemas/DataDeletionStatus' } },
          },
        },
        '404': { description: 'Unknown code (HTML page, or the JSON error body)' },
      },
    },
  },
  '/healthz': {
    get: {
      operationId: 'healthz',
      summary: 'Liveness',
      tags: ['ops'],
      responses: { '200': { description: '`{"status":"ok"}`' } },
    },
  },
  '/readyz': {
    get: {
      operationId: 'readyz',
      summary: 'Readiness: store reachable and migrations current',
      tags: ['ops'],
      responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tags: ['ops'],
      responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
    },
  },
  '/docs/openapi.json': {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags: ['ops'],
      responses: { '200': { description: 'OpenAPI 3.1 JSON' } },
    },
  },
  '/docs': {
    get: {
      operationId: 'docs',
      summary: 'This document as a page',
      tags: ['ops'],
      responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
    },
  },
};

function flowsEndpoint(operationId: string, summary: string): Operation {
  return {
    operationId,
    summary,
    description:
      "Called by the WhatsApp client. The signature is checked before anything is decrypted. Decrypted actions: `ping` (health check), error notifications (`data.error`), `INIT`, `BACK` and `data_exchange` (these need a flow token flowguard issued for this tenant). The 427 body is plain JSON, as in Meta's endpoint error-code documentation.",
    tags: ['meta'],
    parameters: [{ $ref: '#/components/parameters/HubSignature' }],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/EncryptedFlowRequest' } } },
    },
    responses: {
      '200': {
        description: 'base64(AES-128-GCM ciphertext || tag) of the JSON answer, IV = request IV inverted',
        content: { 'text/plain': { schema: { type: 'string', contentEncoding: 'base64' } } },
      },
      '404': { ...errorBody, description: 'No such tenant' },
      '421': {
        ...errorBody,
        description:
          'Cannot be decrypted (wrong key, bad tag, malformed); the client re-fetches the public key',
      },
      '427': {
        description: 'Flow token unknown, expired or used; the client disables the CTA and shows `error_msg`',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/FlowTokenInvalid' } } },
      },
      '432': { ...errorBody, description: 'Missing or bad X-Hub-Signature-256' },
    },
  };
}

const components = {
  securitySchemes: {
    apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from `flowguard apikey create`' },
    ...adminSecuritySchemes,
  },
  parameters: {
    HubSignature: {
      name: 'X-Hub-Signature-256',
      in: 'header',
      required: true,
      schema: { type: 'string', pattern: '^sha256=[0-9a-f]{64}$' },
    },
  },
  schemas: {
    ...requestSchemas,
    Error: {
      type: 'object',
      required: ['error'],
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: { code: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
    FlowTokenRequest: {
      oneOf: [
        {
          type: 'object',
          required: ['phone'],
          properties: { phone: { type: 'string', description: 'E.164, e.g. +<country code><number>' } },
        },
        {
          type: 'object',
          required: ['user_id'],
          properties: { user_id: { type: 'string', pattern: '^[A-Z]{2}\\.[A-Za-z0-9]{1,128}$' } },
        },
      ],
    },
    FlowToken: {
      type: 'object',
      required: ['flow_token', 'expires_at'],
      properties: { flow_token: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } },
    },
    EncryptedFlowRequest: {
      type: 'object',
      required: ['encrypted_flow_data', 'encrypted_aes_key', 'initial_vector'],
      properties: {
        encrypted_flow_data: { type: 'string', contentEncoding: 'base64' },
        encrypted_aes_key: { type: 'string', contentEncoding: 'base64' },
        initial_vector: { type: 'string', contentEncoding: 'base64' },
      },
    },
    DataDeletionReceipt: {
      type: 'object',
      required: ['url', 'confirmation_code'],
      properties: { url: { type: 'string', format: 'uri' }, confirmation_code: { type: 'string' } },
    },
    DataDeletionStatus: {
      type: 'object',
      required: ['confirmation_code', 'status', 'state', 'received_at', 'completed_at'],
      properties: {
        confirmation_code: { type: 'string' },
        status: { type: 'string' },
        state: { type: 'string', enum: ['in_progress', 'completed', 'failed', 'denied'] },
        received_at: { type: 'string', format: 'date-time' },
        completed_at: { type: ['string', 'null'], format: 'date-time' },
      },
    },
    FlowTokenInvalid: {
      type: 'object',
      required: ['error_msg'],
      properties: { error_msg: { type: 'string' } },
    },
  },
};

/** The document restricted to operations the router serves. */
export function openApiDocument(
  served: (method: HTTPMethods, url: string) => boolean,
): Record<string, unknown> {
  const published: Record<string, PathItem> = {};
  for (const [path, item] of Object.entries(paths)) {
    const url = path.replace(/\{(\w+)\}/g, ':$1');
    const kept = Object.fromEntries(
      Object.entries(item).filter(([method]) => served(method.toUpperCase() as HTTPMethods, url)),
    ) as PathItem;
    if (Object.keys(kept).length > 0) published[path] = kept;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'flowguard',
      version: '1',
      description:
        'Privacy backend for WhatsApp Flows: webhook receiver, Flows data endpoint, and the /v1 API (Bearer API keys).',
    },
    paths: published,
    components,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderHtml(doc: Record<string, unknown>): string {
  const rows = Object.entries(doc.paths as Record<string, PathItem>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => {
      const codes = Object.keys((op.responses ?? {}) as object).join(' ');
      return `<tr id="${escapeHtml(op.operationId)}"><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td><strong>${escapeHtml(op.summary)}</strong>${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}</td><td>${escapeHtml(codes)}</td></tr>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>flowguard API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.5rem;text-align:left;vertical-align:top}p{margin:.25rem 0 0;color:#444}</style>
</head><body><h1>flowguard API</h1><p>Machine-readable: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1). The /v1 routes take <code>Authorization: Bearer &lt;API key&gt;</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Operation</th><th>Responses</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>`;
}

export function registerDocsRoutes(app: FastifyInstance): void {
  let cached: { json: Record<string, unknown>; html: string } | undefined;
  // Built on first use, when every module has registered its routes.
  const docs = () => {
    if (!cached) {
      const json = openApiDocument((method, url) => app.hasRoute({ method, url }));
      cached = { json, html: renderHtml(json) };
    }
    return cached;
  };
  app.get('/docs/openapi.json', async (_req, reply) =>
    reply.type('application/json; charset=utf-8').send(docs().json),
  );
  app.get('/docs', async (_req, reply) => reply.type('text/html; charset=utf-8').send(docs().html));
}
