import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema, type SystemSpec } from '../../src/config/datamap.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import type { Located, SubjectIdentifiers } from '../../src/modules/connectors/port.js';
import { createRedisConnector } from '../../src/modules/connectors/redis/redis-connector.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { hasService } from '../helpers/test-app.js';

type RedisSpec = Extract<SystemSpec, { type: 'redis' }>;
const REDIS = { host: '127.0.0.1', port: 6379 };
const URL = `redis://${REDIS.host}:${REDIS.port}`;
const total = (xs: Located[]) => xs.reduce((n, x) => n + x.count, 0);
const byWhere = (xs: Located[]) => Object.fromEntries(xs.map((x) => [x.where, x.count]));

describe.runIf(hasService('redis'))('redis connector', () => {
  /** Every key of this file lives under a random prefix, removed at the end. */
  const P = `fgtest:${crypto.randomBytes(5).toString('hex')}:`;
  const KEYS = [`${P}session:{digits}`, `${P}flow:{e164}:*`, { key: `${P}names`, field: '{bsuid}' }];
  let admin: Redis;
  const proxies: FaultProxy[] = [];

  const spec = (keys: unknown[] = KEYS, url = URL): RedisSpec => {
    const s = systemSchema.parse({ id: 'cache', type: 'redis', url, keys });
    if (s.type !== 'redis') throw new Error('not a redis spec');
    return s;
  };

  /** A person in all three formats: a session by digits, flow state under E.164 keys, a name by BSUID. */
  async function seed(p: ContractPerson): Promise<void> {
    await admin
      .multi()
      .set(`${P}session:${p.digits}`, JSON.stringify({ step: 'CONFIRM_DELETE' }))
      .rpush(`${P}flow:${p.e164}:screens`, 'PRIVACY_HOME', 'CONFIRM_DELETE')
      .hset(`${P}flow:${p.e164}:answers`, { scope: 'all', confirmed: 'true' })
      .sadd(`${P}flow:${p.e164}:tags`, 'privacy', 'dsr')
      .hset(`${P}names`, p.bsuid, p.name)
      .exec();
  }

  beforeAll(async () => {
    admin = new Redis(URL);
  });

  afterAll(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${P}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await admin.unlink(...keys);
    } while (cursor !== '0');
    await admin.quit();
    await Promise.all(proxies.map((p) => p.close()));
  });

  describe('contract', () => {
    connectorContract({
      connector: () => createRedisConnector(spec()),
      seed,
      unreachable: async () => {
        const proxy = await startFaultProxy(REDIS);
        proxies.push(proxy);
        proxy.cut();
        return {
          connector: createRedisConnector(spec(KEYS, `redis://127.0.0.1:${proxy.port}`)),
          restore: () => proxy.restore(),
        };
      },
    });
  });

  it('escapes glob characters in identifier values: a value with * ? [ ] \\ matches only itself', async () => {
    const c = createRedisConnector(spec());
    const p = contractPerson();
    await seed(p);
    const before = byWhere(await c.locate(p.ids));
    const wild: SubjectIdentifiers = {
      e164: ['+1555*', '+1555?????????', '+1555[0-9]*', '+\\1555*'],
      digits: ['1555*', '*'],
      bsuid: ['*'],
    };
    // Nothing of the real person (or anyone else) matches the wildcard-looking values.
    expect(total(await c.locate(wild))).toBe(0);
    await admin.set(`${P}flow:+1555*:screens`, 'literal');
    await admin.set(`${P}session:1555*`, 'literal');
    expect(byWhere(await c.locate(wild))).toMatchObject({
      [`${P}session:{digits}`]: 1,
      [`${P}flow:{e164}:*`]: 1,
    });
    const erased = await c.erase(wild, { requestId: crypto.randomUUID() });
    expect(erased.reduce((n, o) => n + o.count, 0)).toBe(2);
    expect(await admin.exists(`${P}flow:+1555*:screens`, `${P}session:1555*`)).toBe(0);
    expect(byWhere(await c.locate(p.ids))).toEqual(before);
    await c.close();
  });

  it('erases hash fields, also in hashes found by a wildcard key, and leaves other fields and types alone', async () => {
    const c = createRedisConnector(
      spec([
        { key: `${P}profile:*`, field: '{digits}' },
        { key: `${P}names`, field: '{bsuid}' },
      ]),
    );
    const [p, other] = [contractPerson(), contractPerson()];
    await seed(p);
    await seed(other);
    await admin.hset(`${P}profile:a`, p.digits, 'opted-in', other.digits, 'opted-in');
    await admin.hset(`${P}profile:b`, p.digits, 'opted-out');
    await admin.set(`${P}profile:c`, p.digits); // not a hash: never touched
    expect(byWhere(await c.locate(p.ids))).toEqual({
      [`${P}profile:* field {digits}`]: 2,
      [`${P}names field {bsuid}`]: 1,
    });
    const exported = await c.export(p.ids);
    expect(exported.flatMap((e) => e.records)).toEqual(
      expect.arrayContaining([
        { key: `${P}profile:a`, field: p.digits, value: 'opted-in' },
        { key: `${P}profile:b`, field: p.digits, value: 'opted-out' },
        { key: `${P}names`, field: p.bsuid, value: p.name },
      ]),
    );
    const erased = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(erased.map((o) => [o.where, o.action, o.count])).toEqual([
      [`${P}profile:* field {digits}`, 'deleted', 2],
      [`${P}names field {bsuid}`, 'deleted', 1],
    ]);
    expect(total(await c.verify(p.ids))).toBe(0);
    expect(await admin.hgetall(`${P}profile:a`)).toEqual({ [other.digits]: 'opted-in' });
    expect(await admin.exists(`${P}profile:b`)).toBe(0); // its only field went, so Redis dropped the hash
    expect(await admin.get(`${P}profile:c`)).toBe(p.digits);
    expect(await admin.hget(`${P}names`, other.bsuid)).toBe(other.name);
    await c.close();
  });

  it('exports every key by its type', async () => {
    const c = createRedisConnector(spec());
    const p = contractPerson();
    await seed(p);
    const records = (await c.export(p.ids)).flatMap((e) => e.records);
    expect(records).toEqual(
      expect.arrayContaining([
        { key: `${P}session:${p.digits}`, type: 'string', value: '{"step":"CONFIRM_DELETE"}' },
        { key: `${P}flow:${p.e164}:screens`, type: 'list', value: ['PRIVACY_HOME', 'CONFIRM_DELETE'] },
        { key: `${P}flow:${p.e164}:answers`, type: 'hash', value: { scope: 'all', confirmed: 'true' } },
        { key: `${P}names`, field: p.bsuid, value: p.name },
      ]),
    );
    const tags = records.find((r) => r.key === `${P}flow:${p.e164}:tags`);
    expect((tags?.value as string[]).sort()).toEqual(['dsr', 'privacy']);
    await c.close();
  });

  it('warns in its check when a wildcard follows an identifier, and a retained system is only reported', async () => {
    const c = createRedisConnector(spec([`${P}otp:{e164}*`]));
    const report = await c.check();
    expect(report.reachable).toBe(true);
    expect(report.warnings.join('\n')).toContain('also matches longer identifiers');
    await c.close();

    const kept = createRedisConnector({ ...spec(), retain: { reason: 'fraud prevention log, 90 days' } });
    const p = contractPerson();
    await seed(p);
    const out = await kept.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(out.every((o) => o.action === 'retained' && o.reason === 'fraud prevention log, 90 days')).toBe(
      true,
    );
    expect(out.reduce((n, o) => n + o.count, 0)).toBe(5);
    expect(await kept.verify(p.ids)).toEqual([]);
    expect(await admin.exists(`${P}session:${p.digits}`)).toBe(1);
    await kept.close();
  });

  it('fails retryably on a closed port and permanently on rejected credentials', async () => {
    const closed = createRedisConnector(spec(KEYS, 'redis://127.0.0.1:1'));
    await expect(closed.locate(contractPerson().ids)).rejects.toBeInstanceOf(RetryableError);
    await closed.close();
    const denied = createRedisConnector(spec(KEYS, `redis://nobody:wrong@${REDIS.host}:${REDIS.port}`));
    const err = await denied.erase(contractPerson().ids, { requestId: crypto.randomUUID() }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toMatch(/^redis_/);
    await denied.close();
  });
});
