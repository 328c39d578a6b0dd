import { PermanentError } from '../errors.js';
import type { SubjectIdentifiers } from '../port.js';
import { assertOk, type HubSpotClient } from './client.js';

/**
 * Find a person's contacts with `POST /crm/v3/objects/contacts/search`. HubSpot stores a phone property as
 * typed, so every phone property is compared (EQ) with every format we know: +E.164 and bare digits.
 * Filters inside a group are ANDed and groups are ORed, so each (property, value) pair is its own group;
 * HubSpot accepts at most 5 groups per request, so the pairs are sent in batches and the ids merged.
 * Pages of up to 200 results follow `paging.next.after`; a search returns at most 10,000 results.
 */

export interface HubSpotContact {
  id: string;
  properties: Record<string, string | null>;
  createdAt?: string | undefined;
  updatedAt?: string | undefined;
}

const MAX_GROUPS = 5;
const PAGE_SIZE = 200;
const MAX_PAGES = 10_000 / PAGE_SIZE;
/** HubSpot's default contact properties, plus the phone properties of the data map. */
const EXPORT_PROPERTIES = [
  'firstname',
  'lastname',
  'email',
  'createdate',
  'lastmodifieddate',
  'hs_object_id',
];

export function phoneFilterGroups(phoneProperties: string[], ids: SubjectIdentifiers) {
  const values = [...new Set([...ids.e164, ...ids.digits])];
  return phoneProperties.flatMap((propertyName) =>
    values.map((value) => ({ filters: [{ propertyName, operator: 'EQ', value }] })),
  );
}

export async function searchContacts(
  client: HubSpotClient,
  phoneProperties: string[],
  ids: SubjectIdentifiers,
): Promise<HubSpotContact[]> {
  const groups = phoneFilterGroups(phoneProperties, ids);
  const properties = [...new Set([...EXPORT_PROPERTIES, ...phoneProperties])];
  const found = new Map<string, HubSpotContact>();
  for (let i = 0; i < groups.length; i += MAX_GROUPS) {
    const filterGroups = groups.slice(i, i + MAX_GROUPS);
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await client.post('/crm/v3/objects/contacts/search', {
        filterGroups,
        properties,
        limit: PAGE_SIZE,
        ...(after ? { after } : {}),
      });
      assertOk(res, 'search', [200]);
      const body = res.body as { results?: unknown; paging?: { next?: { after?: unknown } } } | undefined;
      if (!body || !Array.isArray(body.results)) throw new PermanentError('hubspot_search_bad_response');
      for (const r of body.results as HubSpotContact[]) {
        if (r && typeof r.id === 'string') found.set(r.id, r);
      }
      const next = body.paging?.next?.after;
      if (typeof next !== 'string' || next === '') break;
      after = next;
    }
  }
  return [...found.values()];
}

/** A cheap authenticated search that matches nothing, for `datamap check`. */
export async function probeSearch(client: HubSpotClient): Promise<void> {
  const res = await client.post('/crm/v3/objects/contacts/search', {
    filterGroups: [{ filters: [{ propertyName: 'hs_object_id', operator: 'EQ', value: '0' }] }],
    properties: ['hs_object_id'],
    limit: 1,
  });
  assertOk(res, 'search', [200]);
}
