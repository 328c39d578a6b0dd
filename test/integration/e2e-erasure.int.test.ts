import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerClient } from '@azure/storage-blob';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectorWorker } from '../../src/modules/connectors/connector.worker.js';
import { identifiersOf } from '../../src/modules/connectors/identifiers.js';
import { startAzurite, type AzuriteInstance } from '../helpers/azurite.js';
import { startFakeHubSpot, type FakeHubSpot } from '../helpers/fake-hubspot.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  closeRedis,
  connectRedis,
  createMariaDatabase,
  s3rverClient,
  type MariaDatabase,
} from '../helpers/business-stores.js';
import { startS3rver, type S3rverInstance } from '../helpers/s3rver.js';
import {
  createPgDatabase,
  createTestApp,
  fakePerson,
  hasService,
  type TestApp,
} from '../helpers/test-app.js';
import { contact, delivery, postWebhook, textMessage, type Person } from '../helpers/webhook-payloads.js';
import { callFlow, issueToken } from './flows-endpoint.client.js';
import { api, apiKey } from './requests.fixtures.js';

/**
 * The issue's "done means": a request from the Privacy Center Flow deletes a fake person from flowguard,
 * three PostgreSQL tables with differently named identifier columns, a MariaDB table, Redis keys, S3 and Azure
 * objects, a HubSpot contact and a log file (and the business's own service over signed HTTP), keeps what the
 * data map retains, and the proof report lists each system.
 */
const everything = hasService('postgres') && hasService('mariadb') && hasService('redis');

describe.runIf(everything)(
  'an erasure from the Privacy Center Flow reaches every system of the data map',
  () => {
    const tag = crypto.randomBytes(4).toString('hex');
    const HTTP_SECRET = 'http-callback-secret-0123456789';
    let t: TestApp;
    let dir: string;
    let bizPg: { url: string; drop: () => Promise<void> };
    let pgc: pg.Client;
    let my: mysql.Connection;
    const myDb = `fg_e2e_${tag}`;
    let maria: MariaDatabase;
    let redis: Redis;
    let s3: S3rverInstance;
    let s3c: S3Client;
    let azurite: AzuriteInstance;
    let container: ContainerClient;
    let hubspot: FakeHubSpot;
    let receiver: HttpReceiver;
    let logFile: string;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-e2e-'));
      bizPg = await createPgDatabase();
      pgc = new pg.Client({ connectionString: bizPg.url });
      await pgc.connect();
      await pgc.query(`
      create table active_sessions (id serial primary key, whatsapp_id text not null, state text);
      create index on active_sessions (whatsapp_id);
      create table marketing_preferences (id serial primary key, user_phone text, email text, opted_in boolean);
      create index on marketing_preferences (user_phone);
      create table user_flow_data (id serial primary key, participant_id text not null, answers jsonb);
      create index on user_flow_data (participant_id);
      create table invoices (id serial primary key, customer_phone text not null, amount_cents int);
      create index on invoices (customer_phone);
      create table attachments (id serial primary key, phone text not null, s3_key text not null);
      create index on attachments (phone);`);
      maria = await createMariaDatabase(myDb, [
        'create table chat_sessions (id int auto_increment primary key, phone_digits varchar(32) not null, transcript text, index (phone_digits))',
      ]);
      my = await mysql.createConnection(maria.url);
      redis = await connectRedis();
      s3 = await startS3rver(['media']);
      s3c = s3rverClient(s3);
      azurite = await startAzurite();
      container = new ContainerClient(azurite.connectionString, 'transcripts');
      await container.create();
      hubspot = await startFakeHubSpot();
      receiver = await startHttpReceiver(HTTP_SECRET);
      logFile = path.join(dir, 'bot.jsonl');
      fs.writeFileSync(logFile, '');

      const yaml = `
queues:
  connector.run: { retryLimit: 2, retryDelaySeconds: 1 }
systems:
  - id: app-db
    type: postgres
    url: ${bizPg.url}
    collections:
      - { table: active_sessions, identity: { column: whatsapp_id, format: digits } }
      - { table: marketing_preferences, identity: { column: user_phone, format: e164 }, erase: { mask: [user_phone, email] } }
      - { table: user_flow_data, identity: { column: participant_id, format: bsuid }, category: flow_responses }
      - { table: attachments, identity: { column: phone, format: e164 } }
      - { table: invoices, identity: { column: customer_phone, format: e164 }, retain: { reason: "billing records, tax law" } }
  - id: support-db
    type: mysql
    url: ${maria.url}
    collections:
      - { table: chat_sessions, identity: { column: phone_digits, format: digits } }
  - id: cache
    type: redis
    url: redis://127.0.0.1:6379
    keys: ["fge2e:${tag}:session:{digits}", "fge2e:${tag}:flow:{e164}:*"]
  - id: media
    type: s3
    bucket: media
    endpoint: ${s3.endpoint}
    forcePathStyle: true
    accessKeyId: ${s3.accessKeyId}
    secretAccessKey: ${s3.secretAccessKey}
    prefixes: ["users/{digits}/"]
    keysFromSql: [{ system: app-db, table: attachments, identity: { column: phone, format: e164 }, keyColumn: s3_key }]
  - id: archive
    type: azure-blob
    connectionString: "${azurite.connectionString}"
    container: transcripts
    prefixes: ["{e164}/"]
  - id: crm
    type: hubspot
    token: ${hubspot.token}
    baseUrl: ${hubspot.url}
    recipient: true
  - id: bot
    type: http
    url: ${receiver.url}
    secret: ${HTTP_SECRET}
  - id: logs
    type: logfiles
    paths: ["${logFile}"]
    format: jsonl
`;
      const file = path.join(dir, 'flowguard.yaml');
      fs.writeFileSync(file, yaml);
      t = await createTestApp('postgres', { FLOWGUARD_CONFIG: file });
      await startConnectorWorker(t.ctx);
    }, 180_000);

    afterAll(async () => {
      await t?.close();
      await pgc?.end();
      await bizPg?.drop();
      await my?.end();
      await maria?.drop();
      await closeRedis(redis, `fge2e:${tag}:`);
      s3c?.destroy();
      await s3?.close();
      await azurite?.close();
      await hubspot?.close();
      await receiver?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    async function seed(p: Person) {
      await pgc.query('insert into active_sessions (whatsapp_id, state) values ($1, $2)', [
        p.waId,
        'booking',
      ]);
      await pgc.query(
        'insert into marketing_preferences (user_phone, email, opted_in) values ($1, $2, true)',
        [p.e164, `${p.waId}@example.test`],
      );
      await pgc.query('insert into user_flow_data (participant_id, answers) values ($1, $2)', [
        p.bsuid,
        '{"budget":"300k"}',
      ]);
      await pgc.query('insert into invoices (customer_phone, amount_cents) values ($1, 4200)', [p.e164]);
      await pgc.query('insert into attachments (phone, s3_key) values ($1, $2)', [
        p.e164,
        `uploads/${p.waId}-id.jpg`,
      ]);
      await my.query(`insert into ${myDb}.chat_sessions (phone_digits, transcript) values (?, ?)`, [
        p.waId,
        'hello',
      ]);
      await redis.set(`fge2e:${tag}:session:${p.waId}`, 'x');
      await redis.set(`fge2e:${tag}:flow:${p.e164}:step1`, 'y');
      for (const Key of [`users/${p.waId}/avatar.jpg`, `uploads/${p.waId}-id.jpg`]) {
        await s3c.send(new PutObjectCommand({ Bucket: 'media', Key, Body: 'img' }));
      }
      await container.getBlockBlobClient(`${p.e164}/chat.txt`).upload('transcript', 10);
      hubspot.seed({ phone: p.e164, firstname: p.name });
      receiver.seed('profiles', p.waId, { name: p.name });
      fs.appendFileSync(logFile, `${JSON.stringify({ level: 'info', from: p.waId, msg: 'hi' })}\n`);
    }

    async function left(p: Person) {
      const one = async (q: string, v: unknown[]) => Number((await pgc.query(q, v)).rows[0].n);
      const [myRows] = await my.query(
        `select count(*) as n from ${myDb}.chat_sessions where phone_digits = ?`,
        [p.waId],
      );
      const objects = await s3c.send(
        new ListObjectsV2Command({ Bucket: 'media', Prefix: `users/${p.waId}/` }),
      );
      const uploads = await s3c.send(
        new ListObjectsV2Command({ Bucket: 'media', Prefix: `uploads/${p.waId}-` }),
      );
      let blobs = 0;
      for await (const _b of container.listBlobsFlat({ prefix: `${p.e164}/` })) blobs++;
      return {
        sessions: await one('select count(*) as n from active_sessions where whatsapp_id = $1', [p.waId]),
        marketing: await one('select count(*) as n from marketing_preferences where user_phone = $1', [
          p.e164,
        ]),
        flowData: await one('select count(*) as n from user_flow_data where participant_id = $1', [p.bsuid]),
        attachments: await one('select count(*) as n from attachments where phone = $1', [p.e164]),
        invoices: await one('select count(*) as n from invoices where customer_phone = $1', [p.e164]),
        mariadb: Number((myRows as { n: number }[])[0]!.n),
        redis:
          (await redis.exists(`fge2e:${tag}:session:${p.waId}`)) +
          (await redis.exists(`fge2e:${tag}:flow:${p.e164}:step1`)),
        s3: (objects.KeyCount ?? 0) + (uploads.KeyCount ?? 0),
        azure: blobs,
        hubspot: [...hubspot.contacts.values()].filter((c) => c.properties.phone === p.e164).length,
        // The business's own service answers a signed locate from its own store.
        http: (
          await t.ctx.dataMap.get('bot')!.locate(
            identifiersOf([
              { kind: 'phone', value: p.e164 },
              { kind: 'bsuid', value: p.bsuid },
            ]),
          )
        ).reduce((n, l) => n + l.count, 0),
        log: fs
          .readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(p.waId)).length,
      };
    }

    it('erases the person everywhere, keeps the retained invoices and the other people, and proves it', async () => {
      const [p, other] = [fakePerson(), fakePerson()];
      await seed(p);
      await seed(other);
      // The person talks to the business first, so flowguard knows their phone and business-scoped id.
      const res = await postWebhook(
        t,
        delivery({
          contacts: [contact(p, { phone: true, bsuid: true })],
          messages: [textMessage(p, 'hi', { bsuid: true })],
        }),
      );
      expect(res.statusCode).toBe(200);
      const { token } = await issueToken(t, { kind: 'phone', value: p.e164 });

      const started = Date.now();
      const answer = await callFlow(t, {
        version: '3.0',
        action: 'data_exchange',
        screen: 'CONFIRM_DELETE',
        flow_token: token,
        data: { request: 'erasure', scope: 'all', confirmed: true },
      });
      expect(answer.status).toBe(200);
      const params = (
        answer.answer!.data as { extension_message_response: { params: { request_id: string } } }
      ).extension_message_response.params;
      const key = await apiKey(t);
      await expect
        .poll(async () => (await api(t, key).get(`/v1/requests/${params.request_id}`)).json().status, {
          timeout: 60_000,
          interval: 100,
        })
        .toBe('completed');
      const elapsed = Date.now() - started;
      console.info(`end-to-end erasure across 8 systems + own store: ${elapsed} ms`);

      expect(await left(p)).toEqual({
        sessions: 0,
        marketing: 0,
        flowData: 0,
        attachments: 0,
        invoices: 1,
        mariadb: 0,
        redis: 0,
        s3: 0,
        azure: 0,
        hubspot: 0,
        http: 0,
        log: 0,
      });
      expect(receiver.received.some((r) => r.action === 'erase')).toBe(true);
      const otherLeft = await left(other);
      expect(Object.values(otherLeft).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);

      const view = (await api(t, key).get(`/v1/requests/${params.request_id}`)).json() as {
        systems: { id: string; status: string }[];
      };
      expect(view.systems.map((s) => s.id).sort()).toEqual(
        ['app-db', 'archive', 'bot', 'cache', 'crm', 'flowguard', 'logs', 'media', 'support-db'].sort(),
      );
      expect(view.systems.every((s) => s.status === 'done')).toBe(true);
      const proof = await api(t, key).get(`/v1/requests/${params.request_id}/proof`);
      expect(proof.statusCode).toBe(200);
      const text = proof.body;
      for (const id of [
        'app-db',
        'support-db',
        'cache',
        'media',
        'archive',
        'crm',
        'bot',
        'logs',
        'flowguard',
      ]) {
        expect(text).toContain(id);
      }
      for (const secret of [p.waId, p.e164, p.bsuid, p.name]) expect(text).not.toContain(secret);
    });
  },
);
