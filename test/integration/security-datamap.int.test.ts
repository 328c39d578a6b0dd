import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { systemSchema, type SystemSpec } from '../../src/config/datamap.js';
import { PermanentError } from '../../src/modules/connectors/errors.js';
import { createMysqlConnector } from '../../src/modules/connectors/mysql/index.js';
import { createPostgresConnector } from '../../src/modules/connectors/postgres/index.js';
import type { SqlConnector } from '../../src/modules/connectors/sql/index.js';
import { contractPerson } from '../helpers/connector-contract.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

/**
 * SQL injection through the data map: table, column and system names are refused at start-up unless they are
 * plain identifiers, and the SQL connectors quote every name they use (reserved words and mixed case work; a
 * name that never went through the data map's checks is refused again, never run). Identifier values are bound
 * parameters: connector-postgres and connector-mysql tests.
 */

const HOSTILE_NAMES = [
  'subjects; drop table subjects;--',
  'users where 1=1 --',
  'a.b.c',
  '"users"',
  '`users`',
  'users)',
  'now()',
  '*',
  'x y',
  '',
];

function configWith(systems: unknown[]): () => unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-datamap-'));
  const file = path.join(dir, 'flowguard.yaml');
  fs.writeFileSync(file, JSON.stringify({ systems }));
  return () => loadConfig({ FLOWGUARD_CONFIG: file }, dir);
}

function refusedAt(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).setting;
  }
  throw new Error('the data map was accepted');
}

describe('data-map names', () => {
  const collection = { table: 'profiles', identity: { column: 'phone', format: 'e164' } };
  const sqlSystem = (collections: unknown[]) => ({
    id: 'app-db',
    type: 'postgres',
    url: 'postgres://x',
    collections,
  });

  it('refuses at start-up any table, column or system id that is not a plain identifier', () => {
    // The valid map loads: the refusals below are about the one name changed in each.
    expect(() =>
      configWith([sqlSystem([collection, { ...collection, table: 'crm.Order$' }])])(),
    ).not.toThrow();
    for (const bad of HOSTILE_NAMES) {
      const places: [unknown[], RegExp][] = [
        [[sqlSystem([{ ...collection, table: bad }])], /collections\.0\.table$/],
        [[sqlSystem([{ ...collection, identity: { column: bad, format: 'e164' } }])], /identity\.column$/],
        [[sqlSystem([{ ...collection, erase: { mask: [bad] } }])], /erase/],
        [[sqlSystem([{ ...collection, access: ['id', bad] }])], /access\.1$/],
        [[sqlSystem([{ ...collection, retention: { column: bad, days: 30 } }])], /retention\.column$/],
        [[{ ...sqlSystem([collection]), id: bad }], /\.id$/],
        [
          [
            sqlSystem([collection]),
            {
              id: 'media',
              type: 's3',
              bucket: 'media-bucket',
              keysFromSql: [
                {
                  system: 'app-db',
                  table: bad,
                  identity: { column: 'phone', format: 'e164' },
                  keyColumn: 'k',
                },
              ],
            },
          ],
          /keysFromSql\.0\.table$/,
        ],
      ];
      for (const [systems, where] of places) {
        expect(refusedAt(configWith(systems)), `${JSON.stringify(bad)} ${where}`).toMatch(
          new RegExp(`^FLOWGUARD_CONFIG\\.systems\\[\\d\\]\\([^)]*\\).*${where.source}`),
        );
      }
    }
  });
});

/** Names that are legal but only work quoted: reserved words, mixed case, a schema, a `$`. */
const QUOTED = {
  pg: [
    'create schema "Audit"',
    'create table "user" (id serial primary key, "from" text, note text)',
    'create table "Audit"."Order" (id serial primary key, "Select" text, "group" text, price$ int)',
    'create table victims (id serial primary key, v text)',
  ],
  mysql: [
    'create table `user` (id int auto_increment primary key, `from` varchar(20), note varchar(20))',
    'create table `Order` (id int auto_increment primary key, `Select` varchar(20), `group` varchar(20), price$ int)',
    'create table victims (id int auto_increment primary key, v varchar(20))',
  ],
};

function collections(dialect: 'pg' | 'mysql') {
  return [
    { table: 'user', identity: { column: 'from', format: 'e164' } },
    {
      table: dialect === 'pg' ? 'Audit.Order' : 'Order',
      identity: { column: 'Select', format: 'digits' },
      erase: { mask: ['Select', 'group'] },
      access: ['group', 'price$'],
    },
  ];
}

async function quotesEveryName(
  connector: () => SqlConnector,
  rogue: () => SqlConnector,
  query: (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]>,
  orderTable: string,
) {
  const [p, other] = [contractPerson(), contractPerson()];
  for (const who of [p, other]) {
    await query('insert into "user" ("from", note) values ($1, $2)', [who.e164, 'n']);
    await query(`insert into ${orderTable} ("Select", "group", price$) values ($1, 'g', 5)`, [who.digits]);
  }
  await query("insert into victims (v) values ('still here')");
  const c = connector();
  expect((await c.locate(p.ids)).map((l) => l.count)).toEqual([1, 1]);
  const out = await c.erase(p.ids, { requestId: crypto.randomUUID() });
  expect(out.map((o) => [o.action, o.count])).toEqual([
    ['deleted', 1],
    ['masked', 1],
  ]);
  expect(await query('select "from" from "user" order by id')).toEqual([{ from: other.e164 }]);
  expect(await query(`select "Select" from ${orderTable} order by id`)).toEqual([
    { Select: null },
    { Select: other.digits },
  ]);
  // A name that never passed the data map's checks is refused by the connector, not run.
  const refused = rogue().erase(p.ids, { requestId: crypto.randomUUID() });
  await expect(refused).rejects.toBeInstanceOf(PermanentError);
  await expect(refused).rejects.toMatchObject({ code: 'sql_bad_identifier' });
  expect(await query('select v from victims')).toEqual([{ v: 'still here' }]);
  await c.close();
}

/** A data map entry built without its checks (as a bug elsewhere might), to test the connector's own guard. */
function unchecked<T extends SystemSpec>(spec: T, table: string): T {
  const s = structuredClone(spec) as T & { collections: { table: string }[] };
  s.collections[0]!.table = table;
  return s;
}

describe.runIf(hasService('postgres'))('postgres connector quoting', () => {
  let db: { url: string; drop: () => Promise<void> };
  let admin: pg.Client;
  beforeAll(async () => {
    db = await createPgDatabase();
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    for (const s of QUOTED.pg) await admin.query(s);
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  it('quotes reserved, mixed-case and schema-qualified names, and refuses an unchecked one', async () => {
    const spec = systemSchema.parse({
      id: 'app-db',
      type: 'postgres',
      url: db.url,
      collections: collections('pg'),
    });
    if (spec.type !== 'postgres') throw new Error('not postgres');
    await quotesEveryName(
      () => createPostgresConnector(spec),
      () => createPostgresConnector(unchecked(spec, 'victims; drop table victims')),
      async (text, values = []) => (await admin.query(text, values)).rows as Record<string, unknown>[],
      '"Audit"."Order"',
    );
  });
});

describe.runIf(hasService('mariadb'))('mysql connector quoting', () => {
  const name = `fg_test_${crypto.randomBytes(6).toString('hex')}`;
  const url = `mysql://root@127.0.0.1:3306/${name}`;
  let admin: mysql.Connection;
  beforeAll(async () => {
    const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await root.query(`create database ${name}`);
    await root.end();
    admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: name });
    for (const s of QUOTED.mysql) await admin.query(s);
  });
  afterAll(async () => {
    await admin?.query(`drop database if exists ${name}`);
    await admin?.end();
  });

  it('quotes reserved and mixed-case names, and refuses an unchecked one', async () => {
    const spec = systemSchema.parse({ id: 'shop-db', type: 'mysql', url, collections: collections('mysql') });
    if (spec.type !== 'mysql') throw new Error('not mysql');
    await quotesEveryName(
      () => createMysqlConnector(spec),
      () => createMysqlConnector(unchecked(spec, 'victims; drop table victims')),
      async (text, values = []) => {
        // The same statements in MySQL's quoting and placeholders.
        const [rows] = await admin.query(text.replace(/"/g, '`').replace(/\$\d/g, '?'), values);
        return rows as Record<string, unknown>[];
      },
      '`Order`',
    );
  });
});
