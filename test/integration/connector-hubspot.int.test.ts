import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema } from '../../src/config/datamap.js';
import { loadConnectors } from '../../src/modules/connectors/connectors.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import type { Connector } from '../../src/modules/connectors/port.js';
import { createConnector } from '../../src/modules/connectors/registry.js';
import { connectorContract, contractPerson } from '../helpers/connector-contract.js';
import { startFakeHubSpot, type FakeHubSpot } from '../helpers/fake-hubspot.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const total = (xs: { count: number }[]) => xs.reduce((n, x) => n + x.count, 0);

describe('hubspot connector', () => {
  let fake: FakeHubSpot;
  let proxy: FaultProxy;
  const open: Connector[] = [];

  function connector(over: Record<string, unknown> = {}): Connector {
    const spec = systemSchema.parse({
      id: 'crm',
      type: 'hubspot',
      token: fake.token,
      baseUrl: fake.url,
      ...over,
    });
    const c = createConnector(spec, { lookup: () => undefined });
    open.push(c);
    return c;
  }

  beforeAll(async () => {
    await loadConnectors(['hubspot']);
    fake = await startFakeHubSpot();
    const port = Number(new URL(fake.url).port);
    proxy = await startFaultProxy({ host: '127.0.0.1', port });
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await proxy.close();
    await fake.close();
  });

  describe('contract', () => {
    connectorContract({
      connector: () => connector(),
      // HubSpot keeps phone numbers as typed: one contact with +E.164 in `phone`, one with digits in `mobilephone`.
      seed: async (p) => {
        fake.seed({ firstname: p.name, phone: p.e164, email: `${p.digits}@example.test` });
        fake.seed({ firstname: p.name, mobilephone: p.digits });
      },
      unreachable: async () => {
        proxy.cut();
        return {
          connector: connector({ baseUrl: `http://127.0.0.1:${proxy.port}` }),
          restore: () => proxy.restore(),
        };
      },
    });
  });

  it('ORs every phone property with every format, in batches of at most five filter groups', async () => {
    const p = contractPerson();
    fake.seed({ hs_whatsapp_phone_number: p.digits });
    fake.searches.length = 0;
    const c = connector({ phoneProperties: ['phone', 'mobilephone', 'hs_whatsapp_phone_number'] });
    expect(total(await c.locate(p.ids))).toBe(1);
    expect(fake.searches).toHaveLength(2);
    const groups = fake.searches.flatMap((s) => s.filterGroups as { filters: unknown[] }[]);
    expect(groups).toHaveLength(6);
    for (const g of groups) expect(g.filters).toHaveLength(1);
    expect(groups.map((g) => g.filters[0])).toContainEqual({
      propertyName: 'hs_whatsapp_phone_number',
      operator: 'EQ',
      value: p.digits,
    });
    expect(groups.map((g) => g.filters[0])).toContainEqual({
      propertyName: 'phone',
      operator: 'EQ',
      value: p.e164,
    });
  });

  it('follows paging past 200 results and GDPR-deletes every contact found', async () => {
    const p = contractPerson();
    for (let i = 0; i < 205; i++) fake.seed({ phone: p.e164, firstname: `n${i}` });
    const c = connector();
    expect(total(await c.locate(p.ids))).toBe(205);
    const exported = await c.export(p.ids);
    expect(exported[0]!.records).toHaveLength(205);
    expect(exported[0]!.records[0]).toMatchObject({ properties: { phone: p.e164 } });
    const before = fake.gdprDeleted.length;
    const out = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(out).toEqual([{ where: 'contacts', action: 'deleted', count: 205 }]);
    expect(fake.gdprDeleted.length - before).toBe(205);
    expect(total(await c.verify(p.ids))).toBe(0);
  });

  it('treats a rejected token as permanent and reports it in check', async () => {
    const c = connector({ token: 'pat-wrong' });
    const err = await c.locate(contractPerson().ids).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe('hubspot_search_http_401');
    const report = await c.check();
    expect(report.reachable).toBe(false);
    expect(report.warnings.join()).toContain('401');
  });

  it('retries on 429 (carrying Retry-After) and on 5xx, then succeeds', async () => {
    const p = contractPerson();
    fake.seed({ phone: p.e164 });
    const c = connector();
    fake.failNext(1, 429, { retryAfter: '7' });
    const limited = await c.erase(p.ids, { requestId: crypto.randomUUID() }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RetryableError);
    expect((limited as RetryableError).code).toBe('hubspot_search_http_429');
    expect((limited as Error).message).toContain('retry after 7s');
    expect((limited as Error).message).toContain('RATE_LIMITS');
    fake.failNext(1, 503);
    await expect(c.locate(p.ids)).rejects.toBeInstanceOf(RetryableError);
    // A failure on the delete call (after a successful search) is retryable too, and the retry finishes.
    fake.failNext(1, 502, { only: 'gdpr-delete' });
    await expect(c.erase(p.ids, { requestId: crypto.randomUUID() })).rejects.toBeInstanceOf(RetryableError);
    expect(total(await c.verify(p.ids))).toBe(1);
    expect(await c.erase(p.ids, { requestId: crypto.randomUUID() })).toEqual([
      { where: 'contacts', action: 'deleted', count: 1 },
    ]);
    expect(total(await c.verify(p.ids))).toBe(0);
  });

  it('counts a 404 on delete as already gone, and verify still reads back the truth', async () => {
    const p = contractPerson();
    fake.seed({ phone: p.e164 });
    const c = connector();
    fake.failNext(1, 404, { only: 'gdpr-delete' });
    expect(await c.erase(p.ids, { requestId: crypto.randomUUID() })).toEqual([
      { where: 'contacts', action: 'deleted', count: 0 },
    ]);
    expect(total(await c.verify(p.ids))).toBe(1);
  });

  it('reports a retained system without deleting anything', async () => {
    const p = contractPerson();
    fake.seed({ phone: p.e164 });
    const c = connector({ retain: { reason: 'invoices: tax law, 10 years' } });
    expect(await c.locate(p.ids)).toEqual([
      { where: 'contacts', count: 1, retained: 'invoices: tax law, 10 years' },
    ]);
    expect(await c.erase(p.ids, { requestId: crypto.randomUUID() })).toEqual([
      { where: 'contacts', action: 'retained', count: 1, reason: 'invoices: tax law, 10 years' },
    ]);
    expect(await c.verify(p.ids)).toEqual([]);
    expect(total(await connector().locate(p.ids))).toBe(1);
  });
});
