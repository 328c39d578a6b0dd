import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { startFakeHubSpot, type FakeHubSpot } from '../helpers/fake-hubspot.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import { createPgDatabase } from '../helpers/test-app.js';
import type { Person } from '../helpers/webhook-payloads.js';

/**
 * The fault matrix of connector-faults.int.test.ts: one data-map system per fault, all in one flowguard, so one
 * erasure request meets every fault at once (its tasks retry and die independently). Real PostgreSQL, MariaDB
 * and Redis sit behind fault proxies (cut, or slowed within the drivers' timeouts); the http connector's
 * receiver sits behind a proxy slowed beyond its timeout, or answers 503/429 with Retry-After; the HubSpot fake
 * answers 502/429.
 */

export interface FaultCell {
  /** The data-map system id. */
  id: string;
  /** The fault lasts beyond every attempt: the task dies, and only a replay after `heal` finishes it. */
  outlasts: boolean;
  /** `last_error` of the task while the fault lasts. */
  error?: string;
  /** Retry-After (seconds) the system answers with: attempts must be at least this far apart. */
  retryAfter?: number;
  /** The data-map entry (YAML). */
  system: string;
  seed(p: Person): Promise<void>;
  /** What the system still holds about the person. */
  held(p: Person): Promise<number>;
  fault(): void;
  heal(): void;
  /** Arrival times of the calls that start each attempt (HTTP systems), to check the spacing. */
  attemptStarts?(): number[];
}

export interface FaultWorld {
  cells: FaultCell[];
  close(): Promise<void>;
}

export const HTTP_SECRET = 'fault-matrix-secret-0123456789';
/** The http connector's timeout in the matrix, and the proxy's delay per chunk that overruns it. */
const HTTP_TIMEOUT_MS = 1_500;
const BEYOND_TIMEOUT_MS = 5_000;
/** A slow network that the SQL and Redis clients' timeouts (seconds) tolerate. */
const SLOW_WITHIN_TIMEOUT_MS = 25;
const FOREVER = 1_000_000;

const indent = (yaml: string) =>
  yaml
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

export async function startFaultWorld(): Promise<FaultWorld> {
  const closers: (() => Promise<unknown>)[] = [];
  const proxy = async (port: number) => {
    const p = await startFaultProxy({ host: '127.0.0.1', port });
    closers.push(() => p.close());
    return p;
  };
  const cells: FaultCell[] = [
    ...(await postgresCells(proxy, closers)),
    ...(await mariadbCells(proxy, closers)),
    ...(await redisCells(proxy, closers)),
    ...(await httpCells(proxy, closers)),
    ...(await hubspotCells(closers)),
  ];
  return {
    cells,
    async close() {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    },
  };
}

type ProxyOf = (port: number) => Promise<FaultProxy>;
type Closers = (() => Promise<unknown>)[];

function cutCell(
  id: string,
  p: FaultProxy,
  error: string,
  rest: Omit<FaultCell, 'id' | 'outlasts' | 'error' | 'fault' | 'heal'>,
): FaultCell {
  return { id, outlasts: true, error, fault: () => p.cut(), heal: () => p.restore(), ...rest };
}

function slowCell(
  id: string,
  p: FaultProxy,
  rest: Omit<FaultCell, 'id' | 'outlasts' | 'fault' | 'heal'>,
): FaultCell {
  return {
    id,
    outlasts: false,
    fault: () => p.slow(SLOW_WITHIN_TIMEOUT_MS),
    heal: () => p.restore(),
    ...rest,
  };
}

async function postgresCells(proxy: ProxyOf, closers: Closers): Promise<FaultCell[]> {
  const db = await createPgDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  closers.push(
    () => db.drop(),
    () => client.end(),
  );
  await client.query(`
    create table cut_sessions (id serial primary key, whatsapp_id text not null, state text);
    create index on cut_sessions (whatsapp_id);
    create table slow_notes (id serial primary key, phone text not null, body text);
    create index on slow_notes (phone);`);
  const via = (p: FaultProxy) => db.url.replace('127.0.0.1:5432', `127.0.0.1:${p.port}`);
  const count = async (table: string, column: string, value: string) =>
    Number(
      (await client.query(`select count(*) as n from ${table} where ${column} = $1`, [value])).rows[0].n,
    );
  const [cut, slow] = [await proxy(5432), await proxy(5432)];
  return [
    cutCell('pg-cut', cut, 'sql_connection', {
      system: `
- id: pg-cut
  type: postgres
  url: ${via(cut)}
  collections:
    - { table: cut_sessions, identity: { column: whatsapp_id, format: digits } }`,
      seed: async (p) =>
        void (await client.query('insert into cut_sessions (whatsapp_id, state) values ($1, $2)', [
          p.waId,
          'booking',
        ])),
      held: (p) => count('cut_sessions', 'whatsapp_id', p.waId),
    }),
    slowCell('pg-slow', slow, {
      system: `
- id: pg-slow
  type: postgres
  url: ${via(slow)}
  collections:
    - { table: slow_notes, identity: { column: phone, format: e164 } }`,
      seed: async (p) =>
        void (await client.query('insert into slow_notes (phone, body) values ($1, $2)', [
          p.e164,
          'called back',
        ])),
      held: (p) => count('slow_notes', 'phone', p.e164),
    }),
  ];
}

async function mariadbCells(proxy: ProxyOf, closers: Closers): Promise<FaultCell[]> {
  const name = `fg_test_${crypto.randomBytes(6).toString('hex')}`;
  const root = await mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    database: 'test',
  });
  await root.query(`create database ${name}`);
  await root.query(`use ${name}`);
  closers.push(async () => {
    await root.query(`drop database if exists ${name}`);
    await root.end();
  });
  await root.query(
    'create table cut_profiles (id int auto_increment primary key, phone varchar(20), index (phone))',
  );
  await root.query('create table slow_chats (id int auto_increment primary key, wa varchar(20), index (wa))');
  const count = async (table: string, column: string, value: string) => {
    const [rows] = await root.query(`select count(*) n from ${table} where ${column} = ?`, [value]);
    return Number((rows as { n: number }[])[0]?.n);
  };
  const [cut, slow] = [await proxy(3306), await proxy(3306)];
  const url = (p: FaultProxy) => `mysql://root@127.0.0.1:${p.port}/${name}`;
  return [
    cutCell('maria-cut', cut, 'PROTOCOL_CONNECTION_LOST', {
      system: `
- id: maria-cut
  type: mysql
  url: ${url(cut)}
  collections:
    - { table: cut_profiles, identity: { column: phone, format: e164 } }`,
      seed: async (p) => void (await root.query('insert into cut_profiles (phone) values (?)', [p.e164])),
      held: (p) => count('cut_profiles', 'phone', p.e164),
    }),
    slowCell('maria-slow', slow, {
      system: `
- id: maria-slow
  type: mysql
  url: ${url(slow)}
  collections:
    - { table: slow_chats, identity: { column: wa, format: digits } }`,
      seed: async (p) => void (await root.query('insert into slow_chats (wa) values (?)', [p.waId])),
      held: (p) => count('slow_chats', 'wa', p.waId),
    }),
  ];
}

async function redisCells(proxy: ProxyOf, closers: Closers): Promise<FaultCell[]> {
  const P = `fgtest:${crypto.randomBytes(5).toString('hex')}:`;
  const admin = new Redis({ host: '127.0.0.1', port: 6379 });
  closers.push(async () => {
    const keys = await admin.keys(`${P}*`);
    if (keys.length) await admin.unlink(...keys);
    await admin.quit();
  });
  const [cut, slow] = [await proxy(6379), await proxy(6379)];
  return [
    cutCell('redis-cut', cut, 'redis_unavailable', {
      system: `
- id: redis-cut
  type: redis
  url: redis://127.0.0.1:${cut.port}
  keys: ["${P}cut:{digits}"]`,
      seed: async (p) => void (await admin.set(`${P}cut:${p.waId}`, 'CONFIRM_DELETE')),
      held: (p) => admin.exists(`${P}cut:${p.waId}`),
    }),
    slowCell('redis-slow', slow, {
      system: `
- id: redis-slow
  type: redis
  url: redis://127.0.0.1:${slow.port}
  keys: ["${P}slow:{e164}:*"]`,
      seed: async (p) =>
        void (await admin.rpush(`${P}slow:${p.e164}:screens`, 'PRIVACY_HOME', 'CONFIRM_DELETE')),
      held: async (p) => (await admin.keys(`${P}slow:${p.e164}:*`)).length,
    }),
  ];
}

async function httpCells(proxy: ProxyOf, closers: Closers): Promise<FaultCell[]> {
  const receiver = async () => {
    const r = await startHttpReceiver(HTTP_SECRET);
    closers.push(() => r.close());
    return r;
  };
  const cell = (
    id: string,
    r: HttpReceiver,
    opts: Pick<FaultCell, 'outlasts' | 'error' | 'retryAfter' | 'fault' | 'heal'> & {
      url?: string;
      timeoutMs?: number;
    },
  ): FaultCell => ({
    id,
    outlasts: opts.outlasts,
    error: opts.error,
    retryAfter: opts.retryAfter,
    fault: opts.fault,
    heal: opts.heal,
    system: `
- id: ${id}
  type: http
  url: ${opts.url ?? r.url}
  secret: ${HTTP_SECRET}
  timeoutMs: ${opts.timeoutMs ?? 10_000}`,
    seed: async (p) => r.seed('profiles', p.waId, { name: p.name }),
    held: async (p) => r.held([p.waId, p.e164]),
    attemptStarts: () => r.received.filter((x) => x.action === 'erase').map((x) => x.at),
  });
  const slow = await receiver();
  const slowProxy = await proxy(Number(new URL(slow.url).port));
  const [unavailable, limited, limitedOnce] = [await receiver(), await receiver(), await receiver()];
  return [
    cell('http-timeout', slow, {
      outlasts: true,
      error: 'http_timeout',
      url: slow.url.replace(/:\d+\//, `:${slowProxy.port}/`),
      timeoutMs: HTTP_TIMEOUT_MS,
      fault: () => slowProxy.slow(BEYOND_TIMEOUT_MS),
      heal: () => slowProxy.restore(),
    }),
    cell('http-503', unavailable, {
      outlasts: true,
      error: 'http_erase_http_503',
      fault: () => unavailable.failNext(FOREVER, 503),
      heal: () => unavailable.failNext(0, 503),
    }),
    cell('http-429', limited, {
      outlasts: true,
      error: 'http_erase_http_429',
      retryAfter: 3,
      fault: () => limited.failNext(FOREVER, 429, { retryAfter: '3' }),
      heal: () => limited.failNext(0, 429),
    }),
    cell('http-429-once', limitedOnce, {
      outlasts: false,
      retryAfter: 5,
      fault: () => limitedOnce.failNext(1, 429, { retryAfter: '5' }),
      heal: () => limitedOnce.failNext(0, 429),
    }),
  ];
}

async function hubspotCells(closers: Closers): Promise<FaultCell[]> {
  const fake = async () => {
    const f = await startFakeHubSpot();
    closers.push(() => f.close());
    return f;
  };
  const cell = (
    id: string,
    f: FakeHubSpot,
    opts: Pick<FaultCell, 'outlasts' | 'error' | 'retryAfter' | 'fault'>,
  ): FaultCell => ({
    id,
    ...opts,
    heal: () => f.failNext(0, 500),
    system: `
- id: ${id}
  type: hubspot
  token: ${f.token}
  baseUrl: ${f.url}`,
    seed: async (p) => void f.seed({ phone: p.e164, firstname: 'Testperson' }),
    held: async (p) => [...f.contacts.values()].filter((c) => c.properties.phone === p.e164).length,
    // Each attempt starts with a search; a successful one goes on to delete and search again.
    attemptStarts: () => {
      const searches = f.requests.filter((r) => r.path.endsWith('/search'));
      return opts.outlasts ? searches.map((r) => r.at) : searches.slice(0, 2).map((r) => r.at);
    },
  });
  const [unavailable, limited, limitedOnce] = [await fake(), await fake(), await fake()];
  return [
    cell('crm-502', unavailable, {
      outlasts: true,
      error: 'hubspot_search_http_502',
      fault: () => unavailable.failNext(FOREVER, 502),
    }),
    cell('crm-429', limited, {
      outlasts: true,
      error: 'hubspot_search_http_429',
      retryAfter: 3,
      fault: () => limited.failNext(FOREVER, 429, { retryAfter: '3' }),
    }),
    cell('crm-429-once', limitedOnce, {
      outlasts: false,
      retryAfter: 5,
      fault: () => limitedOnce.failNext(1, 429, { retryAfter: '5' }),
    }),
  ];
}

/** The `systems:` block of flowguard.yaml for these cells. */
export function dataMapOf(cells: FaultCell[]): string {
  return `systems:\n${cells.map((c) => indent(c.system)).join('\n')}\n`;
}
