/**
 * The OpenAPI 3.1 description of the /v1/requests routes and the export links (merged into /docs by
 * app/docs.routes.ts, which publishes only the operations the router really serves).
 */

type Operation = Record<string, unknown> & { summary: string; operationId: string; description?: string };

const err = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const json = (description: string, ref: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const idParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};
const auth = {
  tags: ['v1'],
  security: [{ apiKey: [] }],
};
const common = {
  '401': err('Missing, unknown or revoked API key (`WWW-Authenticate: Bearer`)'),
  '404': err("No such request (or another tenant's)"),
};
const adminOnly = { '403': err('The API key does not have the `admin` role') };

export const requestPaths: Record<string, Partial<Record<'get' | 'post', Operation>>> = {
  '/v1/requests': {
    post: {
      operationId: 'createRequest',
      summary: 'Record a privacy request for one person',
      description:
        "The person must confirm in WhatsApp before anything is done: flowguard sends them a message with a Confirm button, and the request runs when they tap it (signed by Meta, from their own number). Opt-outs need no confirmation and are carried out at once. A second open request of the same type for the same person returns the first one (200). Errors name the field and never repeat its value. The tenant is the API key's tenant.",
      ...auth,
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/RequestInput' } } },
      },
      responses: {
        '202': json(
          'Recorded; status `awaiting_verification` (or `completed` for an opt-out)',
          'CreatedRequest',
        ),
        '200': json('Joined an open request of the same type for the same person', 'CreatedRequest'),
        '400': err('Not JSON, or a field is missing or malformed (`error.field` names it)'),
        '401': common['401'],
      },
    },
    get: {
      operationId: 'listRequests',
      summary: "The tenant's requests, earliest due date first",
      ...auth,
      parameters: [
        { name: 'status', in: 'query', schema: { type: 'string' } },
        { name: 'type', in: 'query', schema: { type: 'string' } },
        {
          name: 'overdue',
          in: 'query',
          schema: { type: 'boolean' },
          description: 'only open requests past due',
        },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
      ],
      responses: {
        '200': json('`{requests: [...]}`', 'RequestList'),
        '400': err('Bad filter'),
        '401': common['401'],
      },
    },
  },
  '/v1/requests/{id}': {
    get: {
      operationId: 'getRequest',
      summary: 'One request: status, deadline, and what each system did',
      ...auth,
      parameters: [idParam],
      responses: { '200': json('The request', 'Request'), ...common },
    },
  },
  '/v1/requests/{id}/export': {
    get: {
      operationId: 'exportRequest',
      summary: 'The answer to a completed access request',
      description:
        'The access bundle (GDPR Art. 15/20): every category of data flowguard holds about the person, with purposes, source, retention and recipients; `systems`: what each data-map system exported for this request (`[{system_id, where, category, records}]`), and `recipients`: the data-map systems marked as recipients. `?format=csv&category=<id>` returns one category as CSV. Every export is audited (`export.generated`).',
      ...auth,
      parameters: [
        idParam,
        { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'csv'], default: 'json' } },
        {
          name: 'category',
          in: 'query',
          schema: { type: 'string' },
          description: 'required with format=csv',
        },
      ],
      responses: {
        '200': {
          description: 'The bundle (JSON) or one category (CSV)',
          content: { 'application/json': { schema: { type: 'object' } }, 'text/csv': {} },
        },
        '400': err('Bad format or category'),
        ...common,
        '409': err('Not an access request, or not completed'),
      },
    },
  },
  '/v1/requests/{id}/export-link': {
    post: {
      operationId: 'createExportLink',
      summary: 'An expiring link the person can open to download their export',
      description:
        "Signed (HMAC) and self-contained; it works without an API key until `expires_at` (default 24 h, `ttl_seconds` 300 to 604800), then answers 410. The URL is under `FLOWGUARD_PUBLIC_URL`, or this request's host when unset.",
      ...auth,
      parameters: [idParam],
      requestBody: {
        required: false,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { ttl_seconds: { type: 'integer', minimum: 300, maximum: 604800 } },
            },
          },
        },
      },
      responses: {
        '201': json('The link', 'ExportLink'),
        '400': err('Bad ttl_seconds'),
        ...common,
        '409': err('Not a completed access request'),
      },
    },
  },
  '/v1/requests/{id}/proof': {
    get: {
      operationId: 'proofReport',
      summary: 'Proof of what was done, for a regulator (no personal data)',
      description:
        'Received, verified and completed times, the due date, the verification method, per system the action, counts and times, the hash-chained audit events of the request and whether the chain verifies, and items retained with their legal reason.',
      ...auth,
      parameters: [idParam],
      responses: { '200': json('The report', 'ProofReport'), ...common },
    },
  },
  '/v1/requests/{id}/extend': {
    post: {
      operationId: 'extendRequest',
      summary: "Extend a request's deadline, within the legal maximum",
      description:
        'GDPR: up to two further months; CCPA: once, up to 45 days. Must be given before the deadline; the person is told why. Admin API keys only.',
      ...auth,
      parameters: [idParam],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/ExtendInput' } } },
      },
      responses: {
        '200': json('The new deadline', 'Extended'),
        '400': err('Bad days or reason_code'),
        ...common,
        ...adminOnly,
        '409': err('Closed, past its deadline, or already at the maximum'),
      },
    },
  },
  '/v1/requests/{id}/deny': {
    post: {
      operationId: 'denyRequest',
      summary: 'Deny a request that has not been carried out',
      description: 'The confirmation button stops working and the person is told. Admin API keys only.',
      ...auth,
      parameters: [idParam],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/DenyInput' } } },
      },
      responses: {
        '200': json('Denied', 'Denied'),
        '400': err('Bad reason_code'),
        ...common,
        ...adminOnly,
        '409': err('Already carried out or closed'),
      },
    },
  },
  '/exports/{token}': {
    get: {
      operationId: 'downloadExport',
      summary: "The person's download of their access bundle (from a link flowguard sent them)",
      tags: ['public'],
      parameters: [
        { name: 'token', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'csv'] } },
        { name: 'category', in: 'query', schema: { type: 'string' } },
      ],
      responses: {
        '200': { description: 'The bundle', content: { 'application/json': {}, 'text/csv': {} } },
        '404': err('No such link'),
        '410': err('The link has expired'),
      },
    },
  },
};
