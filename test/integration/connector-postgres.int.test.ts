import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema, type SystemSpec } from '../../src/config/datamap.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import type { SubjectIdentifiers } from '../../src/modules/connectors/port.js';
import { createPostgresConnector } from '../../src/modules/connectors/postgres/index.js';
import { sqlColumnValuesFrom, type SqlConnector } from '../../src/modules/connectors/sql/index.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

type PgSpec = Extract<SystemSpec, { type: 'postgres' }>;

const COLLECTIONS = [
  { table: 'active_sessions', identity: { column: 'whatsapp_id', format: 'digits' }, category: 'sessions' },
  {
    table: 'marketing_preferences',
    identity: { column: 'user_phone', format: 'e164' },
    erase: { mask: ['user_phone', 'email'] },
    access: ['email', 'opted_in'],
    category: 'marketing',
  },
  { table: 'user_flow_data', identity: { column: 'participant_id', format: 'bsuid' }, category: 'flows' },
  {
    table: 'invoices',
    identity: { column: 'customer_phone', format: 'e164' },
    category: 'billing',
    retain: { reason: 'billing records, tax law' },
  },
];

const SCHEMA = `
  create table active_sessions (id serial primary key, whatsapp_id text not null, state jsonb,
    updated_at timestamptz not null default now());
  create index on active_sessions (whatsapp_id);
  create table marketing_preferences (id serial primary key, user_phone text, email text,
    opted_in boolean not null default true);
  create index on marketing_preferences (user_phone);
  create table user_flow_data (id serial primary key, participant_id text not null, answers jsonb, media_key text);
  create index on user_flow_data (participant_id);
  create table invoices (id serial primary key, customer_phone text not null, amount_cents int not null);
  create index on invoices (customer_phone);
  create table orders (id serial primary key, user_phone text);`;

/** Short timeouts for the hung-server test (defaults: 5 s connect, 30 s statement). */
const FAST = { connectMs: 1_000, statementMs: 500, queryMs: 800, lockMs: 500 };

describe.runIf(hasService('postgres'))('postgres connector', () => {
  let db: { url: string; drop: () => Promise<void> };
  let admin: pg.Client;
  const proxies: FaultProxy[] = [];
  const spec = (collections: unknown[] = COLLECTIONS, url = db.url): PgSpec => {
    const s = systemSchema.parse({ id: 'app-db', type: 'postgres', url, collections });
    if (s.type !== 'postgres') throw new Error('not a postgres spec');
    return s;
  };
  const viaProxy = (proxy: FaultProxy) => db.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`);
  const counts = async () =>
    (
      await admin.query(`select (select count(*) from active_sessions) a, (select count(*) from marketing_preferences
        where user_phone is not null) m, (select count(*) from user_flow_data) u, (select count(*) from invoices) i`)
    ).rows[0] as Record<string, string>;

  async function seed(p: ContractPerson): Promise<void> {
    const email = `contract-${crypto.randomBytes(4).toString('hex')}@example.test`;
    await admin.query(
      `insert into active_sessions (whatsapp_id, state) values ($1, '{"step":1}'), ($1, '{"step":2}')`,
      [p.digits],
    );
    await admin.query('insert into marketing_preferences (user_phone, email) values ($1, $2)', [
      p.e164,
      email,
    ]);
    await admin.query(
      `insert into user_flow_data (participant_id, answers, media_key) values ($1, '{"q":"a"}', $2), ($1, '{"q":"b"}', $3)`,
      [p.bsuid, `media/${p.bsuid}/1.jpg`, `media/${p.bsuid}/2.jpg`],
    );
    await admin.query('insert into invoices (customer_phone, amount_cents) values ($1, 1200), ($1, 900)', [
      p.e164,
    ]);
  }

  beforeAll(async () => {
    db = await createPgDatabase();
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(SCHEMA);
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await admin?.end();
    await db?.drop();
  });

  describe('contract', () => {
    connectorContract({
      connector: () => createPostgresConnector(spec()),
      seed,
      retainedPerPerson: 2,
      unreachable: async () => {
        const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
        proxies.push(proxy);
        const connector = createPostgresConnector(spec(COLLECTIONS, viaProxy(proxy)));
        await connector.locate(contractPerson().ids); // pooled connections exist, then the network goes
        proxy.cut();
        return { connector, restore: () => proxy.restore() };
      },
    });
  });

  it('masks irreversibly (NULL in place), exports only the access columns, and keeps retained rows', async () => {
    const c = createPostgresConnector(spec());
    const p = contractPerson();
    await seed(p);
    const exported = await c.export(p.ids);
    const prefs = exported.find((e) => e.where === 'marketing_preferences');
    expect(prefs?.category).toBe('marketing');
    expect(prefs?.records.map((r) => Object.keys(r).sort())).toEqual([['email', 'opted_in']]);
    const email = prefs?.records[0]?.email;
    const sessions = exported.find((e) => e.where === 'active_sessions')?.records ?? [];
    expect(sessions).toHaveLength(2);
    expect(typeof sessions[0]?.updated_at).toBe('string');
    expect(exported.find((e) => e.where === 'invoices')?.records).toHaveLength(2);

    const out = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(out).toEqual([
      { where: 'active_sessions', action: 'deleted', count: 2 },
      { where: 'marketing_preferences', action: 'masked', count: 1 },
      { where: 'user_flow_data', action: 'deleted', count: 2 },
      { where: 'invoices', action: 'retained', count: 2, reason: 'billing records, tax law' },
    ]);
    const leftover = await admin.query(
      'select count(*)::int n from marketing_preferences where email = $1 or user_phone = $2',
      [email, p.e164],
    );
    expect(leftover.rows[0].n).toBe(0);
    const invoices = await admin.query('select count(*)::int n from invoices where customer_phone = $1', [
      p.e164,
    ]);
    expect(invoices.rows[0].n).toBe(2);
    await c.close();
  });

  it('binds identifier values: injection-shaped values erase nothing of anyone', async () => {
    const c = createPostgresConnector(spec());
    const others = [contractPerson(), contractPerson()];
    for (const o of others) await seed(o);
    const before = await counts();
    const locatedBefore = await Promise.all(others.map((o) => c.locate(o.ids)));
    const hostile: SubjectIdentifiers = {
      e164: ["' OR 1=1 --", "+1555' OR '1'='1", `${others[0]!.e164}' OR '1'='1`],
      digits: ['1 OR 1=1', '0); DELETE FROM active_sessions; --', '{}', '"},{"'],
      bsuid: ["US.x' OR 'a'='a", '"; drop table invoices; --', "\\' OR 1=1 --", 'US.a","US.b'],
    };
    const out = await c.erase(hostile, { requestId: crypto.randomUUID() });
    expect(out.reduce((n, o) => n + o.count, 0)).toBe(0);
    expect(await counts()).toEqual(before);
    expect(await Promise.all(others.map((o) => c.locate(o.ids)))).toEqual(locatedBefore);
    await c.close();
  });

  it('check: warns for an identity column no index leads, and passes once one does', async () => {
    const withOrders = [
      ...COLLECTIONS,
      { table: 'orders', identity: { column: 'user_phone', format: 'e164' }, category: 'orders' },
    ];
    const c = createPostgresConnector(spec(withOrders));
    const p = contractPerson();
    await seed(p);
    const warning = 'orders.user_phone has no index: each erasure scans the table';
    const first = await c.check(p.ids);
    expect(first.reachable).toBe(true);
    expect(first.warnings).toEqual([warning]);
    expect(first.located?.find((l) => l.where === 'user_flow_data')?.count).toBe(2);
    expect(first.located?.find((l) => l.where === 'invoices')).toMatchObject({
      count: 2,
      retained: expect.any(String),
    });
    await admin.query('create index orders_id_phone on orders (id, user_phone)'); // not the first column
    expect((await c.check()).warnings).toEqual([warning]);
    await admin.query('create index orders_phone on orders (user_phone)');
    const second = await c.check();
    expect(second).toEqual({ reachable: true, warnings: [], located: undefined });
    await c.close();
  });

  it('check: names missing tables, missing columns and NOT NULL mask columns', async () => {
    const c = createPostgresConnector(
      spec([
        { table: 'no_such_table', identity: { column: 'phone', format: 'e164' } },
        { table: 'active_sessions', identity: { column: 'whatsapp_id', format: 'digits' }, access: ['nope'] },
        {
          table: 'user_flow_data',
          identity: { column: 'participant_id', format: 'bsuid' },
          erase: { mask: ['participant_id'] },
        },
      ]),
    );
    const report = await c.check();
    expect(report.reachable).toBe(true);
    expect(report.warnings).toEqual([
      'no_such_table: table not found',
      'active_sessions.nope: column not found',
      'user_flow_data.participant_id is NOT NULL: masking sets it to NULL and will fail',
    ]);
    await c.close();
  });

  it('a missing table is a permanent error on erase, and the transaction erases nothing', async () => {
    const c = createPostgresConnector(
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
    expect((err as Error).message).not.toContain(p.digits);
    const kept = await admin.query('select count(*)::int n from active_sessions where whatsapp_id = $1', [
      p.digits,
    ]);
    expect(kept.rows[0].n).toBe(2); // the delete before the failing table was rolled back
    await c.close();
  });

  it('a hung server fails retryably within the timeout instead of hanging', async () => {
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
    proxies.push(proxy);
    const c = createPostgresConnector(spec(COLLECTIONS, viaProxy(proxy)), FAST);
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
    const c = createPostgresConnector(spec());
    const [p, other] = [contractPerson(), contractPerson()];
    await seed(p);
    await seed(other);
    const values = sqlColumnValuesFrom((id) => (id === 'app-db' ? c : undefined));
    const identity = { column: 'participant_id', format: 'bsuid' } as const;
    const keys = await values('app-db', 'user_flow_data', identity, 'media_key', p.ids);
    expect(keys.sort()).toEqual([`media/${p.bsuid}/1.jpg`, `media/${p.bsuid}/2.jpg`]);
    expect(
      await (c as SqlConnector).columnValues('user_flow_data', identity, 'media_key', {
        e164: [],
        digits: [],
        bsuid: [],
      }),
    ).toEqual([]);
    await expect(values('nope', 'user_flow_data', identity, 'media_key', p.ids)).rejects.toBeInstanceOf(
      PermanentError,
    );
    await c.close();
  });
});
