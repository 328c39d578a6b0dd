import crypto from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema } from '../../src/config/datamap.js';
import { createMysqlConnector } from '../../src/modules/connectors/mysql/index.js';
import { createPostgresConnector } from '../../src/modules/connectors/postgres/index.js';
import type { Connector, SweepOptions } from '../../src/modules/connectors/port.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

/**
 * Retention in the business's own SQL tables: collections that declare `retention: {column, days}` lose (or,
 * when masked, have masked) the rows older than that, in batches of `batchSize`; a dry run only counts;
 * collections without retention are never touched.
 */

const COLLECTIONS = [
  {
    table: 'chat_log',
    identity: { column: 'phone', format: 'e164' },
    retention: { column: 'created_at', days: 30 },
  },
  {
    table: 'leads',
    identity: { column: 'phone', format: 'e164' },
    erase: { mask: ['phone', 'email'] },
    retention: { column: 'created_at', days: 30 },
  },
  { table: 'invoices', identity: { column: 'phone', format: 'e164' }, retain: { reason: 'tax law' } },
];

const DAY = 86_400_000;
const now = new Date();
const ago = (days: number) => new Date(now.getTime() - days * DAY);

interface Target {
  connector: Connector;
  exec(sql: string, params?: unknown[]): Promise<unknown>;
  one(sql: string): Promise<number>;
  close(): Promise<void>;
}

async function seed(target: Target, ph: (i: number) => string): Promise<void> {
  for (let i = 0; i < 25; i++)
    await target.exec(`insert into chat_log (phone, created_at) values (${ph(1)}, ${ph(2)})`, [
      '+15550100001',
      ago(i < 23 ? 40 + i : 1),
    ]);
  for (const days of [31, 45, 90, 5])
    await target.exec(`insert into leads (phone, email, created_at) values (${ph(1)}, ${ph(2)}, ${ph(3)})`, [
      '+15550100002',
      'lead@example.test',
      ago(days),
    ]);
  await target.exec(`insert into invoices (phone, created_at) values (${ph(1)}, ${ph(2)})`, [
    '+15550100003',
    ago(4000),
  ]);
}

function contract(name: string, available: boolean, open: () => Promise<Target>, ph: (i: number) => string) {
  describe.runIf(available)(`retention sweep of a ${name} system`, () => {
    let target: Target;
    beforeAll(async () => {
      target = await open();
      await seed(target, ph);
    });
    afterAll(async () => target?.close());

    const opts = (o: Partial<SweepOptions> = {}): SweepOptions => ({
      now,
      batchSize: 10,
      pauseMs: 0,
      dryRun: false,
      ...o,
    });

    it('counts with a dry run, then deletes or masks exactly the expired rows in batches', async () => {
      const sweep = target.connector.sweepExpired!.bind(target.connector);
      expect(await sweep(opts({ dryRun: true }))).toEqual([
        { where: 'chat_log', action: 'deleted', expired: 23, swept: 0 },
        { where: 'leads', action: 'masked', expired: 3, swept: 0 },
      ]);
      expect(await target.one('select count(*) as n from chat_log')).toBe(25);

      const batches: [string, number][] = [];
      const outcomes = await sweep(opts({ onBatch: (where, rows) => batches.push([where, rows]) }));
      expect(outcomes).toEqual([
        { where: 'chat_log', action: 'deleted', expired: 23, swept: 23 },
        { where: 'leads', action: 'masked', expired: 3, swept: 3 },
      ]);
      expect(batches).toEqual([
        ['chat_log', 10],
        ['chat_log', 10],
        ['chat_log', 3],
        ['leads', 3],
      ]);
      expect(await target.one('select count(*) as n from chat_log')).toBe(2);
      expect(await target.one('select count(*) as n from leads')).toBe(4);
      expect(
        await target.one('select count(*) as n from leads where phone is not null or email is not null'),
      ).toBe(1);
      expect(await target.one('select count(*) as n from invoices')).toBe(1);
      // A second sweep finds nothing left.
      expect((await sweep(opts())).map((o) => o.expired)).toEqual([0, 0]);
    });

    it('warns in datamap check about a retention column without an index', async () => {
      const report = await target.connector.check();
      expect(report.warnings).toContain(
        'chat_log.created_at has no index: each retention batch scans the table',
      );
      expect(report.warnings.filter((w) => w.includes('retention'))).toHaveLength(2);
    });

    it('stops between batches when the run’s time budget is spent', async () => {
      for (let i = 0; i < 15; i++)
        await target.exec(`insert into chat_log (phone, created_at) values (${ph(1)}, ${ph(2)})`, [
          '+15550100001',
          ago(60),
        ]);
      let batches = 0;
      const outcomes = await target.connector.sweepExpired!(
        opts({ shouldStop: () => batches >= 1, onBatch: () => batches++ }),
      );
      expect(outcomes[0]).toEqual({ where: 'chat_log', action: 'deleted', expired: 15, swept: 10 });
    });
  });
}

contract(
  'PostgreSQL',
  hasService('postgres'),
  async () => {
    const database = await createPgDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(`
      create table chat_log (id serial primary key, phone text not null, created_at timestamptz not null);
      create table leads (id serial primary key, phone text, email text, created_at timestamptz not null);
      create table invoices (id serial primary key, phone text not null, created_at timestamptz not null);`);
    const spec = systemSchema.parse({
      id: 'app-db',
      type: 'postgres',
      url: database.url,
      collections: COLLECTIONS,
    });
    if (spec.type !== 'postgres') throw new Error('not postgres');
    const connector = createPostgresConnector(spec);
    return {
      connector,
      exec: (sql, params) => client.query(sql, params),
      one: async (sql) => Number((await client.query<{ n: string }>(sql)).rows[0]?.n),
      async close() {
        await connector.close();
        await client.end();
        await database.drop();
      },
    };
  },
  (i) => `$${i}`,
);

contract(
  'MariaDB',
  hasService('mariadb'),
  async () => {
    const admin = { host: '127.0.0.1', port: 3306, user: 'root', database: 'test' };
    const name = `fg_test_${crypto.randomBytes(6).toString('hex')}`;
    const root = await mysql.createConnection(admin);
    await root.query(`create database ${name}`);
    await root.end();
    const conn = await mysql.createConnection({ ...admin, database: name });
    for (const ddl of [
      'create table chat_log (id int auto_increment primary key, phone varchar(20) not null, created_at datetime(3) not null)',
      'create table leads (id int auto_increment primary key, phone varchar(20), email varchar(100), created_at datetime(3) not null)',
      'create table invoices (id int auto_increment primary key, phone varchar(20) not null, created_at datetime(3) not null)',
    ])
      await conn.query(ddl);
    const spec = systemSchema.parse({
      id: 'shop-db',
      type: 'mysql',
      url: `mysql://root@127.0.0.1:3306/${name}`,
      collections: COLLECTIONS,
    });
    if (spec.type !== 'mysql') throw new Error('not mysql');
    const connector = createMysqlConnector(spec);
    return {
      connector,
      exec: (sql, params) => conn.execute(sql, params as never[]),
      one: async (sql) => Number(((await conn.query(sql))[0] as { n: number | string }[])[0]?.n),
      async close() {
        await connector.close();
        await conn.query(`drop database if exists ${name}`);
        await conn.end();
      },
    };
  },
  () => '?',
);
