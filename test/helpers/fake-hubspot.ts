import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the two HubSpot CRM endpoints the hubspot connector calls, written from HubSpot's
 * documented contract:
 * - Search: https://developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm —
 *   `POST /crm/v3/objects/contacts/search {filterGroups:[{filters:[{propertyName, operator, value}]}],
 *   properties, limit, after}`; filters in a group are ANDed, groups ORed; the answer is
 *   `{total, results:[{id, properties, createdAt, updatedAt, archived}], paging:{next:{after, link}}}`;
 *   without `properties`, contacts come back with createdate, email, firstname, hs_object_id,
 *   lastmodifieddate and lastname; `limit` is at most 200.
 * - Filter limits: https://developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api —
 *   at most 5 filter groups, 10 filters per group, 25 filters in all.
 * - GDPR delete: https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/post-crm-v3-objects-contacts-gdpr-delete
 *   and https://developers.hubspot.com/changelog/changes-to-the-gdpr-deletion-endpoints-for-the-crm-contact-object-api —
 *   `POST /crm/v3/objects/contacts/gdpr-delete {objectId, idProperty?}` (idProperty `email` identifies the
 *   contact by email), answered 204 with no body; an unknown contact id is a 404 here.
 * - Errors: https://developers.hubspot.com/docs/api-reference/error-handling —
 *   `{status:'error', message, correlationId, category}`; 401 for invalid authentication, 403 for missing scopes.
 */

export interface FakeContact {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface FakeHubSpot {
  url: string;
  token: string;
  contacts: Map<string, FakeContact>;
  /** Bodies of the search requests received (to check the filter shape). */
  searches: Record<string, unknown>[];
  /** Ids of the contacts deleted through gdpr-delete. */
  gdprDeleted: string[];
  /** Every authenticated request to either endpoint, with when it arrived (Date.now()). */
  requests: { path: string; at: number }[];
  seed(properties: Record<string, string>): string;
  /** Make the next N requests (to either endpoint, or `only` one) fail with this status. */
  failNext(n: number, status: number, opts?: { retryAfter?: string; only?: 'search' | 'gdpr-delete' }): void;
  close(): Promise<void>;
}

const DEFAULT_PROPERTIES = [
  'createdate',
  'email',
  'firstname',
  'hs_object_id',
  'lastmodifieddate',
  'lastname',
];
const ALWAYS = ['hs_object_id', 'createdate', 'lastmodifieddate'];

interface Filter {
  propertyName?: unknown;
  operator?: unknown;
  value?: unknown;
}

export async function startFakeHubSpot(token = 'pat-test-token'): Promise<FakeHubSpot> {
  const contacts = new Map<string, FakeContact>();
  const searches: Record<string, unknown>[] = [];
  const gdprDeleted: string[] = [];
  const requests: { path: string; at: number }[] = [];
  let nextId = 1001;
  let failures:
    { left: number; status: number; retryAfter?: string | undefined; only?: string | undefined } | undefined;

  const error = (category: string, message: string) => ({
    status: 'error',
    message,
    correlationId: crypto.randomUUID(),
    category,
  });

  function matches(c: FakeContact, f: Filter): boolean {
    const v = c.properties[String(f.propertyName)];
    switch (f.operator) {
      case 'EQ':
        return v !== undefined && v.toLowerCase() === String(f.value).toLowerCase();
      case 'HAS_PROPERTY':
        return v !== undefined && v !== '';
      default:
        return false;
    }
  }

  function search(body: Record<string, unknown>): [number, unknown] {
    const groups = (body.filterGroups ?? []) as { filters?: Filter[] }[];
    const limit = body.limit === undefined ? 10 : Number(body.limit);
    if (!Array.isArray(groups) || groups.length > 5)
      return [400, error('VALIDATION_ERROR', 'Too many filter groups')];
    let total = 0;
    for (const g of groups) {
      const filters = g.filters ?? [];
      if (!Array.isArray(filters) || filters.length > 10)
        return [400, error('VALIDATION_ERROR', 'Too many filters in group')];
      total += filters.length;
      for (const f of filters) {
        if (typeof f.propertyName !== 'string' || !['EQ', 'HAS_PROPERTY'].includes(String(f.operator)))
          return [400, error('VALIDATION_ERROR', 'Invalid filter')];
      }
    }
    if (total > 25) return [400, error('VALIDATION_ERROR', 'Too many filters')];
    if (!Number.isInteger(limit) || limit < 1 || limit > 200)
      return [400, error('VALIDATION_ERROR', 'limit must be between 1 and 200')];
    const hits = [...contacts.values()].filter(
      (c) => groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f) => matches(c, f))),
    );
    const offset = body.after === undefined ? 0 : Number(body.after);
    const wanted = Array.isArray(body.properties)
      ? [...new Set([...(body.properties as string[]), ...ALWAYS])]
      : DEFAULT_PROPERTIES;
    const page = hits.slice(offset, offset + limit).map((c) => ({
      id: c.id,
      properties: Object.fromEntries(
        wanted.map((p) => [p, p === 'hs_object_id' ? c.id : (c.properties[p] ?? null)]),
      ),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      archived: false,
    }));
    const more = offset + limit < hits.length;
    return [
      200,
      {
        total: hits.length,
        results: page,
        ...(more ? { paging: { next: { after: String(offset + limit), link: '' } } } : {}),
      },
    ];
  }

  function gdprDelete(body: Record<string, unknown>): [number, unknown] {
    if (typeof body.objectId !== 'string' || body.objectId === '')
      return [400, error('VALIDATION_ERROR', 'objectId is required')];
    const id =
      body.idProperty === 'email'
        ? [...contacts.values()].find((c) => c.properties.email === body.objectId)?.id
        : body.idProperty === undefined || body.idProperty === 'hs_object_id'
          ? body.objectId
          : undefined;
    if (!id || !contacts.has(id)) return [404, error('OBJECT_NOT_FOUND', 'resource not found')];
    contacts.delete(id);
    gdprDeleted.push(id);
    return [204, undefined];
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        if (body === undefined) return res.writeHead(status, headers).end();
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      };
      const route =
        req.method === 'POST' && req.url === '/crm/v3/objects/contacts/search'
          ? search
          : req.method === 'POST' && req.url === '/crm/v3/objects/contacts/gdpr-delete'
            ? gdprDelete
            : undefined;
      if (!route) return reply(404, error('OBJECT_NOT_FOUND', 'Unknown path'));
      if (req.headers.authorization !== `Bearer ${token}`) {
        return reply(401, error('INVALID_AUTHENTICATION', 'Authentication credentials not found.'));
      }
      requests.push({ path: req.url ?? '', at: Date.now() });
      if (failures && failures.left > 0 && (!failures.only || req.url?.endsWith(`/${failures.only}`))) {
        failures.left--;
        const category = failures.status === 429 ? 'RATE_LIMITS' : 'INTERNAL_ERROR';
        return reply(
          failures.status,
          error(category, 'Failure'),
          failures.retryAfter ? { 'retry-after': failures.retryAfter } : {},
        );
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return reply(400, error('VALIDATION_ERROR', 'Invalid input JSON'));
      }
      if (route === search) searches.push(body);
      const [status, answer] = route(body);
      return reply(status, answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    contacts,
    searches,
    gdprDeleted,
    requests,
    seed(properties) {
      const id = String(nextId++);
      const now = new Date().toISOString();
      contacts.set(id, { id, properties: { ...properties }, createdAt: now, updatedAt: now });
      return id;
    },
    failNext(n, status, opts) {
      failures = { left: n, status, retryAfter: opts?.retryAfter, only: opts?.only };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
