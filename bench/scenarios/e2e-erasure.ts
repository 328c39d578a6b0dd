import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { decryptFlowResponse } from '../../src/lib/crypto/flow-crypto.js';
import { createApiKey } from '../../src/modules/apikeys/index.js';
import {
  closeRedis,
  connectRedis,
  createMariaDatabase,
  s3rverClient,
  type MariaDatabase,
} from '../../test/helpers/business-stores.js';
import { startS3rver, type S3rverInstance } from '../../test/helpers/s3rver.js';
import { flowRequest, issueFlowTokens } from '../harness/flow-calls.js';
import { sequentialRun } from '../harness/load.js';
import { benchPerson, type BenchPerson } from '../harness/people.js';
import { makePoint } from '../harness/point.js';
import { startServer } from '../harness/server.js';
import { createPgDatabase, createStore, withContext } from '../harness/store.js';
import { goal, postgresUnlessTiny, type Scenario, type ScenarioOutput } from './context.js';

/** The business's systems of the data map: a PostgreSQL database, a MariaDB database, Redis and S3 (s3rver). */
class Systems {
  readonly tag = crypto.randomBytes(4).toString('hex');
  readonly redisPrefix = `fgbench:${this.tag}:`;
  biz!: { url: string; drop: () => Promise<void> };
  pgc!: pg.Client;
  myDb!: MariaDatabase;
  my!: mysql.Connection;
  redis!: Redis;
  s3!: S3rverInstance;
  s3c!: S3Client;

  async start(): Promise<void> {
    this.biz = await createPgDatabase('fg_bench_biz');
    this.pgc = new pg.Client({ connectionString: this.biz.url });
    await this.pgc.connect();
    await this.pgc.query(`
      create table active_sessions (id serial primary key, whatsapp_id text not null, state text);
      create index on active_sessions (whatsapp_id);
      create table marketing_preferences (id serial primary key, user_phone text, email text, opted_in boolean);
      create index on marketing_preferences (user_phone);`);
    this.myDb = await createMariaDatabase(`fg_bench_${this.tag}`, [
      'create table chat_sessions (id int auto_increment primary key, phone_digits varchar(32) not null, transcript text, index (phone_digits))',
    ]);
    this.my = await mysql.createConnection(this.myDb.url);
    this.redis = await connectRedis();
    this.s3 = await startS3rver(['media']);
    this.s3c = s3rverClient(this.s3);
  }

  yaml(): string {
    return `
queues:
  connector.run: { retryLimit: 2, retryDelaySeconds: 1 }
systems:
  - id: app-db
    type: postgres
    url: ${this.biz.url}
    collections:
      - { table: active_sessions, identity: { column: whatsapp_id, format: digits } }
      - { table: marketing_preferences, identity: { column: user_phone, format: e164 }, erase: { mask: [user_phone, email] } }
  - id: support-db
    type: mysql
    url: ${this.myDb.url}
    collections:
      - { table: chat_sessions, identity: { column: phone_digits, format: digits } }
  - id: cache
    type: redis
    url: redis://127.0.0.1:6379
    keys: ["${this.redisPrefix}session:{digits}"]
  - id: media
    type: s3
    bucket: media
    endpoint: ${this.s3.endpoint}
    forcePathStyle: true
    accessKeyId: ${this.s3.accessKeyId}
    secretAccessKey: ${this.s3.secretAccessKey}
    prefixes: ["users/{digits}/"]
`;
  }

  async seed(p: BenchPerson): Promise<void> {
    await this.pgc.query('insert into active_sessions (whatsapp_id, state) values ($1, $2)', [
      p.waId,
      'booking',
    ]);
    await this.pgc.query(
      'insert into marketing_preferences (user_phone, email, opted_in) values ($1, $2, true)',
      [p.e164, `${p.waId}@example.test`],
    );
    await this.my.query('insert into chat_sessions (phone_digits, transcript) values (?, ?)', [
      p.waId,
      'hello',
    ]);
    await this.redis.set(`${this.redisPrefix}session:${p.waId}`, 'x');
    await this.s3c.send(
      new PutObjectCommand({ Bucket: 'media', Key: `users/${p.waId}/avatar.jpg`, Body: 'img' }),
    );
  }

  /** Rows, keys and objects of the person still there (0 after an erasure). */
  async left(p: BenchPerson): Promise<number> {
    const n = async (q: string, v: unknown[]) => Number((await this.pgc.query(q, v)).rows[0].n);
    const [rows] = await this.my.query('select count(*) as n from chat_sessions where phone_digits = ?', [
      p.waId,
    ]);
    const objects = await this.s3c.send(
      new ListObjectsV2Command({ Bucket: 'media', Prefix: `users/${p.waId}/` }),
    );
    return (
      (await n('select count(*) as n from active_sessions where whatsapp_id = $1', [p.waId])) +
      (await n('select count(*) as n from marketing_preferences where user_phone = $1', [p.e164])) +
      Number((rows as { n: number }[])[0]?.n ?? 0) +
      (await this.redis.exists(`${this.redisPrefix}session:${p.waId}`)) +
      (objects.KeyCount ?? 0)
    );
  }

  async stop(): Promise<void> {
    await this.pgc?.end().catch(() => {});
    await this.biz?.drop().catch(() => {});
    await this.my?.end().catch(() => {});
    await this.myDb?.drop().catch(() => {});
    await closeRedis(this.redis, this.redisPrefix);
    this.s3c?.destroy();
    await this.s3?.close();
  }
}

/** The deletion submit of the Privacy Center Flow; returns the request id. */
async function submitErasure(baseUrl: string, publicKey: crypto.KeyObject, token: string): Promise<string> {
  const { prepared, aesKey, iv } = flowRequest(
    {
      version: '3.0',
      action: 'data_exchange',
      screen: 'CONFIRM_DELETE',
      flow_token: token,
      data: { request: 'erasure', scope: 'all', confirmed: true },
    },
    publicKey,
  );
  const res = await fetch(`${baseUrl}/flows/endpoint`, {
    method: 'POST',
    headers: prepared.headers,
    body: prepared.body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`flow submit answered ${res.status}`);
  const answer = decryptFlowResponse(text, aesKey, iv) as {
    data?: { error_message?: string; extension_message_response?: { params?: { request_id?: string } } };
  };
  const id = answer.data?.extension_message_response?.params?.request_id;
  if (!id) throw new Error(`flow submit gave no request id (${answer.data?.error_message ?? 'no message'})`);
  return id;
}

async function waitCompleted(baseUrl: string, apiKey: string, id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${baseUrl}/v1/requests/${id}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const view = (await res.json()) as { status?: string };
    if (view.status === 'completed') return;
    if (view.status === 'failed') throw new Error('erasure request failed');
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('erasure request did not complete within 60 s');
}

export const e2eErasureScenario: Scenario = {
  id: 'e2e-erasure',
  title: 'End-to-end erasure across PostgreSQL, MariaDB, Redis and S3 (Privacy Center submit → completed)',
  unavailable: (ctx) => {
    const missing = (['postgres', 'mariadb', 'redis'] as const).filter((s) => !ctx.services[s]);
    return missing.length ? `needs ${missing.join(', ')} on 127.0.0.1` : undefined;
  },
  async run(ctx): Promise<ScenarioOutput> {
    const kind = postgresUnlessTiny(ctx);
    const n = ctx.tiny ? 2 : 40;
    const systems = new Systems();
    const yamlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-bench-e2e-'));
    try {
      await systems.start();
      const yamlFile = path.join(yamlDir, 'flowguard.yaml');
      fs.writeFileSync(yamlFile, systems.yaml());
      const store = await createStore(kind, { FLOWGUARD_CONFIG: yamlFile });
      try {
        const people = Array.from({ length: n }, () => benchPerson());
        const { apiKey, tokens } = await withContext(store, async (app) => {
          const tenant = await app.tenants.getDefault();
          const key = await createApiKey(app.database.db, { tenantId: tenant.id, name: 'bench' });
          return { apiKey: key.key, tokens: await issueFlowTokens(app, people) };
        });
        for (const p of people) await systems.seed(p);
        const server = await startServer(store);
        let run;
        try {
          run = await sequentialRun(
            n,
            async (i) => {
              const id = await submitErasure(server.baseUrl, store.publicKey, tokens[i]!);
              await waitCompleted(server.baseUrl, apiKey, id);
            },
            server.pid,
          );
        } finally {
          await server.stop();
        }
        let remaining = 0;
        for (const p of people) remaining += await systems.left(p);
        if (remaining !== 0)
          throw new Error(`${remaining} rows/keys/objects of erased people are still in the systems`);
        const point = makePoint(`submit → completed, 4 systems (${kind})`, { store: kind, systems: 4 }, [
          run,
        ]);
        ctx.log(`e2e-erasure: p50 ${point.median.p50Ms} ms, p99 ${point.median.p99Ms} ms`);
        return {
          points: [point],
          goals: [
            goal('request → completed p99', '< 1 s', `${point.median.p99Ms} ms`, point.median.p99Ms < 1000),
          ],
          notes: [
            `${n} people, one at a time: each has rows in a PostgreSQL database (two tables, one masked), a MariaDB table, a Redis key and an S3 object. Latency runs from the encrypted CONFIRM_DELETE submit to GET /v1/requests/:id reporting completed (polled every 10 ms); afterwards nothing of them is left in any system.`,
            'The connector jobs go through pg-boss; a trigger on its job table NOTIFYs the queue when the request commits, which wakes the connector workers at once (src/jobs/wake-on-commit.ts); their 1 s polling is only the fallback.',
          ],
          markers: { p99: { value: 1000, label: 'goal 1 s' } },
        };
      } finally {
        await store.drop();
      }
    } finally {
      await systems.stop();
      fs.rmSync(yamlDir, { recursive: true, force: true });
    }
  },
};
