import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemSchema } from '../../src/config/datamap.js';
import { loadConnectors } from '../../src/modules/connectors/connectors.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import {
  verifyHttpConfirmation,
  type HttpConfirmation,
} from '../../src/modules/connectors/http/verify-confirmation.js';
import type { Connector } from '../../src/modules/connectors/port.js';
import { createConnector } from '../../src/modules/connectors/registry.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';

const total = (xs: { count: number }[]) => xs.reduce((n, x) => n + x.count, 0);
const SECRET = crypto.randomBytes(24).toString('hex');

describe('http connector', () => {
  let receiver: HttpReceiver;
  let proxy: FaultProxy;
  let callbacks: http.Server;
  let callbackBase: string;
  const confirmations: HttpConfirmation[] = [];
  const open: Connector[] = [];

  function connector(over: Record<string, unknown> = {}): Connector {
    const spec = systemSchema.parse({ id: 'shop', type: 'http', url: receiver.url, secret: SECRET, ...over });
    const c = createConnector(spec, {
      lookup: () => undefined,
      callbackUrl: (requestId, systemId) => `${callbackBase}/callbacks/${systemId}/${requestId}`,
    });
    open.push(c);
    return c;
  }

  const seed = async (p: ContractPerson) => {
    receiver.seed('profiles', p.e164, { name: p.name, phone: p.e164 });
    receiver.seed('orders', p.digits, { order: crypto.randomUUID(), wa_id: p.digits });
    receiver.seed('orders', p.bsuid, { order: crypto.randomUUID(), user: p.bsuid });
  };

  beforeAll(async () => {
    await loadConnectors(['http']);
    receiver = await startHttpReceiver(SECRET);
    proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(receiver.url).port) });
    // The callback route as the lead's server would run it: raw body + signature header → verify.
    callbacks = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const systemId = req.url?.split('/')[2] ?? '';
        const header = req.headers['x-flowguard-signature-256'];
        const result = verifyHttpConfirmation(
          { id: systemId, secret: SECRET },
          Buffer.concat(chunks),
          typeof header === 'string' ? header : undefined,
        );
        confirmations.push(result);
        res.writeHead(result.ok ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve) => callbacks.listen(0, '127.0.0.1', resolve));
    callbackBase = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    receiver.mode = 'sync';
    receiver.failNext(0, 500);
    confirmations.length = 0;
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await proxy.close();
    await receiver.close();
    await new Promise<void>((resolve) => callbacks.close(() => resolve()));
  });

  describe('contract', () => {
    connectorContract({
      connector: () => connector(),
      seed,
      unreachable: async () => {
        proxy.cut();
        return {
          connector: connector({ url: `http://127.0.0.1:${proxy.port}/flowguard` }),
          restore: () => proxy.restore(),
        };
      },
    });
  });

  it('signs every request and sends all identifier formats; callback_url only with erase', async () => {
    const p = contractPerson();
    await seed(p);
    const c = connector();
    const refused = receiver.refused;
    receiver.received.length = 0;
    expect(await c.locate(p.ids)).toEqual([
      { where: 'profiles', count: 1, retained: undefined },
      { where: 'orders', count: 2, retained: undefined },
    ]);
    const requestId = crypto.randomUUID();
    expect(await c.erase(p.ids, { requestId })).toEqual([
      { where: 'profiles', action: 'deleted', count: 1 },
      { where: 'orders', action: 'deleted', count: 2 },
    ]);
    expect(receiver.refused).toBe(refused);
    const [locate, erase] = receiver.received;
    expect(locate!.body).toMatchObject({
      request_id: null,
      system_id: 'shop',
      action: 'locate',
      identifiers: { e164: [p.e164], digits: [p.digits], bsuid: [p.bsuid] },
    });
    expect(locate!.body).not.toHaveProperty('callback_url');
    expect(erase!.body).toMatchObject({
      request_id: requestId,
      action: 'erase',
      callback_url: `${callbackBase}/callbacks/shop/${requestId}`,
    });
  });

  it('is refused with a wrong secret: permanent, and check says so', async () => {
    const c = connector({ secret: 'not-the-shared-secret' });
    const refused = receiver.refused;
    const err = await c.locate(contractPerson().ids).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe('http_locate_http_401');
    expect(receiver.refused).toBe(refused + 1);
    expect((await c.check()).reachable).toBe(false);
  });

  it('returns a pending outcome when the receiver accepts, and verifies its signed confirmation later', async () => {
    const p = contractPerson();
    await seed(p);
    const c = connector();
    receiver.mode = 'async';
    const requestId = crypto.randomUUID();
    expect(await c.erase(p.ids, { requestId })).toEqual([
      { where: 'receiver', action: 'pending', count: 0, reason: 'awaiting confirmation' },
    ]);
    expect(total(await c.verify(p.ids))).toBe(3);
    expect(await receiver.confirmPending()).toEqual([204]);
    expect(confirmations).toEqual([
      {
        ok: true,
        requestId,
        status: 'done',
        outcomes: [
          { where: 'profiles', action: 'deleted', count: 1 },
          { where: 'orders', action: 'deleted', count: 2 },
        ],
      },
    ]);
    expect(total(await c.verify(p.ids))).toBe(0);
  });

  it('refuses confirmations signed with another secret or outside the five-minute window', async () => {
    const c = connector();
    receiver.mode = 'async';
    const p = contractPerson();
    await seed(p);
    await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(await receiver.confirmPending({ secret: 'another-secret-entirely' })).toEqual([401]);
    await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(await receiver.confirmPending({ timestamp: Math.floor(Date.now() / 1000) - 301 })).toEqual([401]);
    expect(confirmations).toEqual([
      { ok: false, reason: 'bad_signature' },
      { ok: false, reason: 'stale' },
    ]);
  });

  it('checks the confirmation body: system, request id, tampering, failure reports', () => {
    const spec = { id: 'shop', secret: SECRET };
    const now = Date.now();
    const signed = (body: Record<string, unknown>) => {
      const raw = JSON.stringify({ timestamp: Math.floor(now / 1000), ...body });
      return [raw, `sha256=${crypto.createHmac('sha256', SECRET).update(raw).digest('hex')}`] as const;
    };
    const [raw, sig] = signed({
      request_id: 'r1',
      system_id: 'shop',
      status: 'done',
      counts: { profiles: 2 },
    });
    expect(verifyHttpConfirmation(spec, raw, sig, now)).toMatchObject({ ok: true, status: 'done' });
    expect(verifyHttpConfirmation(spec, raw.replace('2', '0'), sig, now)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyHttpConfirmation(spec, raw, undefined, now)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyHttpConfirmation({ ...spec, id: 'crm' }, raw, sig, now)).toEqual({
      ok: false,
      reason: 'wrong_system',
    });
    expect(verifyHttpConfirmation(spec, raw, sig, now + 301_000)).toEqual({ ok: false, reason: 'stale' });
    const failed = signed({
      request_id: 'r2',
      system_id: 'shop',
      status: 'failed',
      reason: 'locked_account',
    });
    expect(verifyHttpConfirmation(spec, ...failed, now)).toEqual({
      ok: true,
      requestId: 'r2',
      status: 'failed',
      reason: 'locked_account',
    });
    const leaky = signed({
      request_id: 'r3',
      system_id: 'shop',
      status: 'done',
      counts: { 'user-15551234567': 1 },
    });
    expect(verifyHttpConfirmation(spec, ...leaky, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('retries 5xx and 429, fails permanently on other 4xx', async () => {
    const p = contractPerson();
    await seed(p);
    const c = connector();
    receiver.failNext(2, 503);
    await expect(c.erase(p.ids, { requestId: 'a' })).rejects.toBeInstanceOf(RetryableError);
    await expect(c.erase(p.ids, { requestId: 'a' })).rejects.toBeInstanceOf(RetryableError);
    receiver.failNext(1, 429);
    await expect(c.verify(p.ids)).rejects.toBeInstanceOf(RetryableError);
    receiver.failNext(1, 422);
    await expect(c.export(p.ids)).rejects.toBeInstanceOf(PermanentError);
    expect(total(await c.erase(p.ids, { requestId: 'a' }))).toBe(3);
  });

  it('times out a slow receiver retryably', async () => {
    const c = connector({ timeoutMs: 200 });
    receiver.delayNext(1_000);
    const err = await c.locate(contractPerson().ids).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).code).toBe('http_timeout');
  });

  it('refuses answers whose place names could carry personal data', async () => {
    const bad = http.createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'done', counts: { 'contact +15551234567': 1 } })),
    );
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve));
    const c = connector({ url: `http://127.0.0.1:${(bad.address() as AddressInfo).port}/` });
    const err = await c.erase(contractPerson().ids, { requestId: 'b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe('http_bad_response');
    bad.closeAllConnections();
    await new Promise<void>((resolve) => bad.close(() => resolve()));
  });

  it('reports a retained system without asking it to erase', async () => {
    const p = contractPerson();
    await seed(p);
    const c = connector({ retain: { reason: 'orders kept for tax law' } });
    receiver.received.length = 0;
    expect(await c.erase(p.ids, { requestId: 'c' })).toEqual([
      { where: 'profiles', action: 'retained', count: 1, reason: 'orders kept for tax law' },
      { where: 'orders', action: 'retained', count: 2, reason: 'orders kept for tax law' },
    ]);
    expect(receiver.received.map((r) => r.action)).toEqual(['locate']);
    expect(await c.verify(p.ids)).toEqual([]);
  });
});
