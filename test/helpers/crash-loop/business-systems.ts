import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { closeRedis, connectRedis, createMariaDatabase, type MariaDatabase } from '../business-stores.js';
import { createPgDatabase } from '../test-app.js';
import type { Person } from '../webhook-payloads.js';
import { startCountingReceiver, type CountingReceiver } from '../worker-process.js';

const HTTP_SECRET = 'crash-loop-receiver-secret-0123456789';

/**
 * The business's own systems for the crash loop, each holding every fake person the way its software would:
 * PostgreSQL (bot sessions by digits, orders by E.164, flow answers by BSUID), MariaDB (support chats by digits),
 * Redis (a session key and flow-step keys), and its own service behind the http connector (slow, so a kill
 * often lands mid-erase; it counts every erase it is asked for). None of them is ever killed.
 */
export class BusinessSystems {
  readonly tag = crypto.randomBytes(4).toString('hex');
  private biz!: { url: string; drop: () => Promise<void> };
  private pool!: pg.Pool;
  private myDb!: MariaDatabase;
  private my!: mysql.Pool;
  private redis!: Redis;
  receiver!: CountingReceiver;

  /** Records one person holds in these systems when nothing of theirs was erased. */
  static readonly HELD = 7;

  constructor(private readonly eraseMs: number) {}

  async start(): Promise<void> {
    this.biz = await createPgDatabase();
    this.pool = new pg.Pool({ connectionString: this.biz.url, max: 4 });
    // pool.end() resolves before every socket has closed; the drop's termination of a closing one is no error.
    this.pool.on('error', () => undefined);
    await this.pool.query(`
      create table bot_sessions (id serial primary key, whatsapp_id text not null, state text not null);
      create index on bot_sessions (whatsapp_id);
      create table orders (id serial primary key, customer_phone text not null, total_cents int not null);
      create index on orders (customer_phone);
      create table flow_answers (id serial primary key, participant_id text not null, answers jsonb);
      create index on flow_answers (participant_id);`);
    this.myDb = await createMariaDatabase(`fg_crash_${this.tag}`, [
      'create table support_chats (id int auto_increment primary key, phone_digits varchar(32) not null, transcript text, index (phone_digits))',
    ]);
    this.my = mysql.createPool({ uri: this.myDb.url, connectionLimit: 4 });
    this.redis = await connectRedis();
    this.receiver = await startCountingReceiver(HTTP_SECRET, this.eraseMs, () => []);
  }

  private key(kind: 'session' | 'flow', id: string, rest = ''): string {
    return `fgcrash:${this.tag}:${kind}:${id}${rest}`;
  }

  /** The data map (`systems:` of flowguard.yaml) for these four systems. */
  systemsYaml(): string {
    return `
systems:
  - id: app-db
    type: postgres
    url: ${this.biz.url}
    collections:
      - { table: bot_sessions, identity: { column: whatsapp_id, format: digits } }
      - { table: orders, identity: { column: customer_phone, format: e164 } }
      - { table: flow_answers, identity: { column: participant_id, format: bsuid }, category: flow_responses }
  - id: support-db
    type: mysql
    url: ${this.myDb.url}
    collections:
      - { table: support_chats, identity: { column: phone_digits, format: digits } }
  - id: cache
    type: redis
    url: redis://127.0.0.1:6379
    keys: ["fgcrash:${this.tag}:session:{digits}", "fgcrash:${this.tag}:flow:{e164}:*"]
  - id: bot
    type: http
    url: ${this.receiver.url}
    secret: ${HTTP_SECRET}
`;
  }

  async seed(p: Person): Promise<void> {
    await this.pool.query('insert into bot_sessions (whatsapp_id, state) values ($1, $2)', [p.waId, 'menu']);
    await this.pool.query('insert into orders (customer_phone, total_cents) values ($1, 1200)', [p.e164]);
    await this.pool.query('insert into flow_answers (participant_id, answers) values ($1, $2)', [
      p.bsuid,
      '{"budget":"300k"}',
    ]);
    await this.my.query('insert into support_chats (phone_digits, transcript) values (?, ?)', [
      p.waId,
      'hello',
    ]);
    await this.redis.set(this.key('session', p.waId), 'menu');
    await this.redis.set(this.key('flow', p.e164, ':step1'), 'budget');
    this.receiver.held.add(p.waId);
  }

  /** What each system still holds of the person (0 everywhere once an erasure completed). */
  async left(p: Person): Promise<Record<string, number>> {
    const one = async (q: string, v: string) => Number((await this.pool.query(q, [v])).rows[0].n);
    const [rows] = await this.my.query('select count(*) as n from support_chats where phone_digits = ?', [
      p.waId,
    ]);
    return {
      bot_sessions: await one('select count(*) as n from bot_sessions where whatsapp_id = $1', p.waId),
      orders: await one('select count(*) as n from orders where customer_phone = $1', p.e164),
      flow_answers: await one('select count(*) as n from flow_answers where participant_id = $1', p.bsuid),
      support_chats: Number((rows as { n: number }[])[0]!.n),
      redis:
        (await this.redis.exists(this.key('session', p.waId))) +
        (await this.redis.exists(this.key('flow', p.e164, ':step1'))),
      bot: this.receiver.held.has(p.waId) ? 1 : 0,
    };
  }

  async close(): Promise<void> {
    await this.pool?.end();
    await this.biz?.drop();
    await this.my?.end();
    await this.myDb?.drop();
    await closeRedis(this.redis, `fgcrash:${this.tag}:`);
    await this.receiver?.close();
  }
}
