import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { closeRedis, connectRedis } from '../business-stores.js';
import { createPgDatabase } from '../test-app.js';
import type { Person } from '../webhook-payloads.js';

/**
 * The business's other systems for the mixed load: a PostgreSQL database (its bot's sessions and marketing
 * preferences) and Redis (a session key per person and a field in a shared profiles hash). Each person the load
 * makes up gets a row in both tables, a key and a field, as the business's bot would write them; an erasure must
 * leave none of them, and nobody else's must be touched.
 */
export class BusinessSystems {
  readonly tag = crypto.randomBytes(4).toString('hex');
  private biz!: { url: string; drop: () => Promise<void> };
  private pool!: pg.Pool;
  private redis!: Redis;

  /** Rows, keys and fields one person holds when nothing of theirs was erased. */
  static readonly HELD = 4;

  async start(): Promise<void> {
    this.biz = await createPgDatabase();
    this.pool = new pg.Pool({ connectionString: this.biz.url, max: 4 });
    // pool.end() resolves before every socket has closed; the drop's termination of a closing one is no error.
    this.pool.on('error', () => undefined);
    await this.pool.query(`
      create table active_sessions (id serial primary key, whatsapp_id text not null, state text not null);
      create index on active_sessions (whatsapp_id);
      create table marketing_preferences (id serial primary key, user_phone text, email text, opted_in boolean);
      create index on marketing_preferences (user_phone);`);
    this.redis = await connectRedis();
  }

  private get sessionPrefix() {
    return `fgload:${this.tag}:session:`;
  }

  private get profilesKey() {
    return `fgload:${this.tag}:profiles`;
  }

  /** The `systems:` of flowguard.yaml for these two systems (connector tasks retried after 1 s). */
  yaml(): string {
    return `
queues:
  connector.run: { retryLimit: 5, retryDelaySeconds: 1 }
systems:
  - id: app-db
    type: postgres
    url: ${this.biz.url}
    collections:
      - { table: active_sessions, identity: { column: whatsapp_id, format: digits }, access: [state] }
      - table: marketing_preferences
        identity: { column: user_phone, format: e164 }
        erase: { mask: [user_phone, email] }
        access: [email, opted_in]
  - id: cache
    type: redis
    url: redis://127.0.0.1:6379
    keys: ['${this.sessionPrefix}{digits}', { key: '${this.profilesKey}', field: '{e164}' }]
`;
  }

  async seed(p: Person): Promise<void> {
    await this.pool.query(
      `with s as (insert into active_sessions (whatsapp_id, state) values ($1, 'booking'))
       insert into marketing_preferences (user_phone, email, opted_in) values ($2, $3, true)`,
      [p.waId, p.e164, `${p.waId}@example.test`],
    );
    await this.redis
      .multi()
      .set(`${this.sessionPrefix}${p.waId}`, 'booking')
      .hset(this.profilesKey, p.e164, 'first_visit')
      .exec();
  }

  /** Rows, keys and fields of the person still there: 0 after an erasure, HELD otherwise. */
  async held(p: Person): Promise<number> {
    const rows = await this.pool.query<{ n: string }>(
      `select (select count(*) from active_sessions where whatsapp_id = $1)
            + (select count(*) from marketing_preferences where user_phone = $2) as n`,
      [p.waId, p.e164],
    );
    const [[, key], [, field]] = (await this.redis
      .multi()
      .exists(`${this.sessionPrefix}${p.waId}`)
      .hexists(this.profilesKey, p.e164)
      .exec()) as [[null, number], [null, number]];
    return Number(rows.rows[0]?.n ?? 0) + key + field;
  }

  async stop(): Promise<void> {
    await this.pool?.end().catch(() => {});
    await this.biz?.drop().catch(() => {});
    await closeRedis(this.redis, `fgload:${this.tag}:`);
  }
}
