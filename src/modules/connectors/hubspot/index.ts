import type { SystemSpec } from '../../../config/datamap.js';
import { classify } from '../errors.js';
import type { Connector, EraseOutcome, Located } from '../port.js';
import { registerConnector } from '../registry.js';
import { createHubSpotClient } from './client.js';
import { gdprDeleteContacts } from './gdpr-delete.js';
import { probeSearch, searchContacts } from './search-contacts.js';

type HubSpotSpec = Extract<SystemSpec, { type: 'hubspot' }>;

const WHERE = 'contacts';

/**
 * HubSpot CRM: contacts found by phone (search), exported with their default and phone properties, erased with
 * the GDPR delete endpoint (permanent, with associated content), verified by searching again.
 * HubSpot's search index lags writes by a few seconds, so a verify right after erasing can still see a deleted
 * contact; the runner's retry then finds it gone (its GDPR delete answers 404, counted as already erased).
 * A system marked `retain` is reported and never deleted.
 */
function createHubSpotConnector(spec: HubSpotSpec): Connector {
  const client = createHubSpotClient(spec);
  const find = (ids: Parameters<Connector['locate']>[0]) =>
    ids.e164.length ? searchContacts(client, spec.phoneProperties, ids) : Promise.resolve([]);
  const retained = spec.retain?.reason;

  return {
    id: spec.id,
    type: 'hubspot',
    async locate(ids): Promise<Located[]> {
      const contacts = await find(ids);
      return [{ where: WHERE, count: contacts.length, retained }];
    },
    async export(ids) {
      const contacts = await find(ids);
      return [
        {
          where: WHERE,
          category: spec.category ?? 'crm',
          records: contacts.map((c) => ({
            id: c.id,
            properties: c.properties,
            createdAt: c.createdAt,
            updatedAt: c.updatedAt,
          })),
        },
      ];
    },
    async erase(ids): Promise<EraseOutcome[]> {
      const contacts = await find(ids);
      if (retained) return [{ where: WHERE, action: 'retained', count: contacts.length, reason: retained }];
      const deleted = await gdprDeleteContacts(
        client,
        contacts.map((c) => c.id),
      );
      return [{ where: WHERE, action: 'deleted', count: deleted }];
    },
    async verify(ids): Promise<Located[]> {
      if (retained) return [];
      return [{ where: WHERE, count: (await find(ids)).length }];
    },
    async check() {
      try {
        await probeSearch(client);
        return { reachable: true, warnings: [] };
      } catch (err) {
        return { reachable: false, warnings: [`${spec.id}: ${classify(err).message}`] };
      }
    },
    async close() {
      // fetch keeps no per-connector state.
    },
  };
}

registerConnector('hubspot', (spec) => createHubSpotConnector(spec));
