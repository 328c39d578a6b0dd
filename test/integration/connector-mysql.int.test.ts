import crypto from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema, type SystemSpec } from '../../src/config/datamap.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import { createMysqlConnector } from '../../src/modules/connectors/mysql/index.js';
import type { SubjectIdentifiers } from '../../src/modules/connectors/port.js';
import { sqlColumnValuesFrom } from '../../src/modules/connectors/sql/index.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { hasService } from '../helpers/test-app.js';

type MysqlSpec = Extract<SystemSpec, { type: 'mysql' }>;

const ADMIN = { host: '127.0.0.1', port: 3306, user: 'root', database: 'test' };

const COLLECTIONS = [
  { table: 'chat_sessions', identity: { column: 'wa_digits', format: 'digits' }, category: 'sessions' },
  {
    table: 'customer_profiles',
    identity: { column: 'phone', format: 'e164' },
    erase: { mask: ['phone', 'full_name'] },
    access: ['full_name', 'created_at'],
    category: 'profile',
  },
];

const SCHEMA = [
  `create table chat_sessions (id int auto_increment primary key, wa_digits varchar(20) not null, state json,
     attachment_key varchar(200), updated_at datetime not null default current_timestamp, index (wa_digits))`,
  `create table customer_profiles (id int auto_increment primary key, phone varchar(20), full_name varchar(100),
     created_at datetime not null default current_timestamp, index (phone))`,
  `create table orders (id int auto_increment primary key, user_phone varchar(20))`,
];

const FAST = { connectMs: 1_000, statementMs: 500, queryMs: 800, lockMs: 1_000 };

describe.runIf(hasService('mariadb'))('mysql connector (MariaDB)', () => {
  const name = `fg_test_${crypto.randomBytes(6).toString('hex')}`;
  const url = (port = 3306) => `mysql://root@127.0.0.1:${port}/${name}`;
  let admin: mysql.Connection;
  const proxies: FaultProxy[] = [];
  const spec = (collections: unknown[] = COLLECTIONS, u = url()): MysqlSpec => {
    const s = systemSchema.parse({ id: 'shop-db', type: 'mysql', url: u, collections });
    if (s.type !== 'mysql') throw new Error('not a mysql spec');
    return s;
  };
  const one = async (sql: string, values: unknown[] = []) => {
    const [rows] = await admin.query(sql, values);
    return Number((rows as { n: number | string }[])[0]?.n);
  };
  const counts = async () => ({
    sessions: await one('select count(*) n from chat_sessions'),
    profiles: await one('select count(*) n from customer_profiles where phone is not null'),
  });

  async function seed(p: ContractPerson): Promise<void> {
    await admin.query(
      'insert into chat_sessions (wa_digits, state, attachment_key) values (?, ?, ?), (?, ?, ?)',
      [p.digits, '{"step":1}', `media/${p.digits}/a.jpg`, p.digits, '{"step":2}', `media/${p.digits}/b.jpg`],
    );
    await admin.query('insert into customer_profiles (phone, full_name) values (?, ?)', [p.e164, p.name]);
  }

  beforeAll(async () => {
    const root = await mysql.createConnection(ADMIN);
    await root.query(`create database ${name}`);
    await root.end();
    admin = await mysql.createConnection({ ...ADMIN, database: name });
    for (const s of SCHEMA) await admin.query(s);
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await admin?.query(`drop database if exists ${name}`);
    await admin?.end();
  });

  describe('contract', () => {
    connectorContract({
      connector: () => createMysqlConnector(spec()),
      seed,
      unreachable: async () => {
        const proxy = await startFaultProxy({ host: '127.0.0.1', port: 3306 });
        proxies.push(proxy);
        const connector = createMysqlConnector(spec(COLLECTIONS, url(proxy.port)));
        await connector.locate(contractPerson().ids); // pooled connections exist, then the network goes
        proxy.cut();
        return { connector, restore: () => proxy.restore() };
      },
    });
  });

  it('masks irreversibly (NULL in place) and exports only the access columns', async () => {
    const c = createMysqlConnector(spec());
    const p = contractPerson();
    await seed(p);
    const exported = await c.export(p.ids);
    const profile = exported.find((e) => e.where === 'customer_profiles');
    expect(profile?.records).toEqual([{ full_name: p.name, created_at: expect.any(String) }]);
    expect(exported.find((e) => e.where === 'chat_sessions')?.records).toHaveLength(2);
    expect(await c.erase(p.ids, { requestId: crypto.randomUUID() })).toEqual([
      { where: 'chat_sessions', action: 'deleted', count: 2 },
      { where: 'customer_profiles', action: 'masked', count: 1 },
    ]);
    expect(
      await one('select count(*) n from customer_profiles where full_name = ? or phone = ?', [
        p.name,
        p.e164,
      ]),
    ).toBe(0);
    await c.close();
  });

  it('binds identifier values: injection-shaped values erase nothing of anyone', async () => {
    const c = createMysqlConnector(spec());
    const others = [contractPerson(), contractPerson()];
    for (const o of others) await seed(o);
    const before = await counts();
    const locatedBefore = await Promise.all(others.map((o) => c.locate(o.ids)));
    const hostile: SubjectIdentifiers = {
      e164: ["' OR 1=1 --", "+1555' OR '1'='1", `${others[0]!.e164}' OR '1'='1`, "\\' OR 1=1 #"],
      digits: ['1 OR 1=1', '0); DELETE FROM chat_sessions; --', '` OR 1=1 --', '%'],
      bsuid: ["US.x' OR 'a'='a", '"; drop table customer_profiles; --'],
    };
    const out = await c.erase(hostile, { requestId: crypto.randomUUID() });
    expect(out.reduce((n, o) => n + o.count, 0)).toBe(0);
    expect(await counts()).toEqual(before);
    expect(await Promise.all(others.map((o) => c.locate(o.ids)))).toEqual(locatedBefore);
    await c.close();
  });

  it('check: warns for an identity column no index leads, and passes once one does', async () => {
    const c = createMysqlConnector(
      spec([...COLLECTIONS, { table: 'orders', identity: { column: 'user_phone', format: 'e164' } }]),
    );
    const p = contractPerson();
    await seed(p);
    const warning = 'orders.user_phone has no index: each erasure scans the table';
    const first = await c.check(p.ids);
    expect(first).toMatchObject({ reachable: true, warnings: [warning] });
    expect(first.located).toEqual([
      { where: 'chat_sessions', count: 2, retained: undefined },
      { where: 'customer_profiles', count: 1, retained: undefined },
      { where: 'orders', count: 0, retained: undefined },
    ]);
    await admin.query('create index orders_id_phone on orders (id, user_phone)'); // not the first column
    expect((await c.check()).warnings).toEqual([warning]);
    await admin.query('create index orders_phone on orders (user_phone)');
    expect(await c.check()).toEqual({ reachable: true, warnings: [], located: undefined });
    await c.close();
  });

  it('check: names missing tables, missing columns and NOT NULL mask columns', async () => {
    const c = createMysqlConnector(
      spec([
        { table: 'no_such_table', identity: { column: 'phone', format: 'e164' } },
        { table: 'chat_sessions', identity: { column: 'WA_DIGITS', format: 'digits' }, access: ['nope'] },
        {
          table: 'chat_sessions',
          identity: { column: 'wa_digits', format: 'digits' },
          erase: { mask: ['wa_digits'] },
        },
      ]),
    );
    const report = await c.check();
    expect(report.warnings).toEqual([
      'no_such_table: table not found',
      'chat_sessions.nope: column not found',
      'chat_sessions.wa_digits is NOT NULL: masking sets it to NULL and will fail',
    ]);
    await c.close();
  });

  it('a missing table is a permanent error on erase, and the transaction erases nothing', async () => {
    const c = createMysqlConnector(
      spec([COLLECTIONS[0], { table: 'no_such_table', identity: { column: 'phone', format: 'e164' } }]),
    );
    const p = contractPerson();
    await seed(p);
    const err = await c.erase(p.ids, { requestId: crypto.randomUUID() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).code).toBe('sql_table_missing');
    expect((err as Error).message).toContain('no_such_table');
    expect(await one('select count(*) n from chat_sessions where wa_digits = ?', [p.digits])).toBe(2);
    await c.close();
  });

  it('a hung server fails retryably within the timeout instead of hanging', async () => {
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: 3306 });
    proxies.push(proxy);
    const c = createMysqlConnector(spec(COLLECTIONS, url(proxy.port)), FAST);
    const p = contractPerson();
    await seed(p);
    await c.locate(p.ids);
    proxy.slow(5_000);
    const started = Date.now();
    const err = await c.erase(p.ids, { requestId: crypto.randomUUID() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RetryableError);
    expect(Date.now() - started).toBeLessThan(4_000);
    proxy.restore();
    await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect((await c.verify(p.ids)).reduce((n, l) => n + l.count, 0)).toBe(0);
    await c.close();
  });

  it('gives object stores the values a column holds for a person (sqlColumnValues)', async () => {
    const c = createMysqlConnector(spec());
    const [p, other] = [contractPerson(), contractPerson()];
    await seed(p);
    await seed(other);
    const values = sqlColumnValuesFrom((id) => (id === 'shop-db' ? c : undefined));
    const identity = { column: 'wa_digits', format: 'digits' } as const;
    const keys = await values('shop-db', 'chat_sessions', identity, 'attachment_key', p.ids);
    expect(keys.sort()).toEqual([`media/${p.digits}/a.jpg`, `media/${p.digits}/b.jpg`]);
    await c.close();
  });
});
