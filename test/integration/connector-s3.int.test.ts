import crypto from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataMapSchema, systemSchema, type SystemSpec } from '../../src/config/datamap.js';
import { createDataMap } from '../../src/modules/connectors/data-map.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import type { Located } from '../../src/modules/connectors/port.js';
import { createS3Connector } from '../../src/modules/connectors/s3/index.js';
import { s3rverClient } from '../helpers/business-stores.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startS3rver, type S3rverInstance } from '../helpers/s3rver.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

type S3Spec = Extract<SystemSpec, { type: 's3' }>;
const PREFIXES = ['users/{digits}/', 'flows/{e164}/', 'bsuid/{bsuid}/'];
const total = (xs: Located[]) => xs.reduce((n, x) => n + x.count, 0);
const noDeps = { lookup: () => undefined };

describe('s3 connector', () => {
  let s3: S3rverInstance;
  let client: S3Client;
  const proxies: FaultProxy[] = [];

  const spec = (over: Record<string, unknown> = {}, endpoint = s3.endpoint): S3Spec => {
    const s = systemSchema.parse({
      id: 'media',
      type: 's3',
      bucket: 'media',
      endpoint,
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefixes: PREFIXES,
      ...over,
    });
    if (s.type !== 's3') throw new Error('not an s3 spec');
    return s;
  };

  async function put(keys: string[], bucket = 'media'): Promise<void> {
    for (let i = 0; i < keys.length; i += 32) {
      await Promise.all(
        keys
          .slice(i, i + 32)
          .map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `object ${Key}` }))),
      );
    }
  }

  async function keysUnder(prefix: string, bucket = 'media'): Promise<string[]> {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key!);
  }

  /** Media in all three formats: voice notes and images by digits, flow uploads by E.164, documents by BSUID. */
  const seed = (p: ContractPerson) =>
    put([
      `users/${p.digits}/voice-1.ogg`,
      `users/${p.digits}/image-1.jpg`,
      `flows/${p.e164}/upload.pdf`,
      `bsuid/${p.bsuid}/id-card.png`,
    ]);

  beforeAll(async () => {
    s3 = await startS3rver(['media', 'archive']);
    client = s3rverClient(s3);
  });

  afterAll(async () => {
    client?.destroy();
    await Promise.all(proxies.map((p) => p.close()));
    await s3?.close();
  });

  describe('contract', () => {
    connectorContract({
      connector: () => createS3Connector(spec(), noDeps),
      seed,
      unreachable: async () => {
        const proxy = await startFaultProxy({ host: s3.host, port: s3.port });
        proxies.push(proxy);
        proxy.cut();
        return {
          connector: createS3Connector(spec({}, `http://127.0.0.1:${proxy.port}`), noDeps),
          restore: () => proxy.restore(),
        };
      },
    });
  });

  it('pages through more than 1,000 objects under one prefix and deletes them in batches of 1,000', async () => {
    const c = createS3Connector(spec(), noDeps);
    const [p, other] = [contractPerson(), contractPerson()];
    await put(
      Array.from({ length: 1_050 }, (_, i) => `users/${p.digits}/m-${String(i).padStart(4, '0')}.jpg`),
    );
    await seed(other);
    const located = await c.locate(p.ids);
    expect(located.find((l) => l.where === 'prefix users/{digits}/')?.count).toBe(1_050);
    const out = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(out.find((o) => o.where === 'prefix users/{digits}/')).toEqual({
      where: 'prefix users/{digits}/',
      action: 'deleted',
      count: 1_050,
    });
    expect(total(await c.verify(p.ids))).toBe(0);
    expect(await keysUnder(`users/${p.digits}/`)).toEqual([]);
    expect(await keysUnder(`users/${other.digits}/`)).toHaveLength(2);
    await c.close();
  });

  it('fails permanently when the bucket does not exist, and retryably on a closed port', async () => {
    const missing = createS3Connector(spec({ bucket: 'no-such-bucket' }), noDeps);
    const p = contractPerson();
    await expect(missing.erase(p.ids, { requestId: crypto.randomUUID() })).rejects.toBeInstanceOf(
      PermanentError,
    );
    await expect(missing.locate(p.ids)).rejects.toMatchObject({ code: 's3_no_such_bucket' });
    expect(await missing.check()).toEqual({ reachable: false, warnings: ['s3_no_such_bucket'] });
    await missing.close();
    const closed = createS3Connector(spec({}, 'http://127.0.0.1:1'), noDeps);
    await expect(closed.erase(p.ids, { requestId: crypto.randomUUID() })).rejects.toBeInstanceOf(
      RetryableError,
    );
    await closed.close();
  });

  it('warns in its check about a prefix that ends with an identifier', async () => {
    const c = createS3Connector(spec({ prefixes: ['avatars/{digits}'] }), noDeps);
    const report = await c.check();
    expect(report.reachable).toBe(true);
    expect(report.warnings.join('\n')).toContain('avatars/{digits} ends with an identifier');
    await c.close();
  });

  describe.runIf(hasService('postgres'))('keysFromSql', () => {
    let db: { url: string; drop: () => Promise<void> };
    let admin: pg.Client;

    beforeAll(async () => {
      db = await createPgDatabase();
      admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(
        'create table messages (id serial primary key, sender text not null, media_url text)',
      );
    });
    afterAll(async () => {
      await admin?.end();
      await db?.drop();
    });

    it('deletes the objects a SQL column names for the person (through the data map), nothing else', async () => {
      const [p, other] = [contractPerson(), contractPerson()];
      const tag = crypto.randomBytes(4).toString('hex');
      const mine = [`uploads/${tag}/a.jpg`, `uploads/${tag}/b.ogg`];
      await put([...mine, `uploads/${tag}/other.jpg`, `uploads/${tag}/unreferenced.jpg`]);
      await put([`uploads/${tag}/elsewhere.jpg`], 'archive');
      await admin.query(
        `insert into messages (sender, media_url) values ($1, $2), ($1, $3), ($1, $4), ($1, null), ($5, $6)`,
        [
          p.e164,
          mine[0],
          `s3://media/${mine[1]}`,
          `s3://archive/uploads/${tag}/elsewhere.jpg`, // another bucket: not this system's to erase
          other.e164,
          `uploads/${tag}/other.jpg`,
        ],
      );
      const systems = dataMapSchema.parse([
        {
          id: 'app',
          type: 'postgres',
          url: db.url,
          collections: [{ table: 'messages', identity: { column: 'sender', format: 'e164' } }],
        },
        {
          ...spec({ prefixes: [] }),
          keysFromSql: [
            {
              system: 'app',
              table: 'messages',
              identity: { column: 'sender', format: 'e164' },
              keyColumn: 'media_url',
            },
          ],
        },
      ]);
      const dataMap = await createDataMap(systems);
      const c = dataMap.get('media')!;
      const where = 'keys in app.messages.media_url';
      expect(await c.locate(p.ids)).toEqual([{ where, count: 2, retained: undefined }]);
      expect(await c.erase(p.ids, { requestId: crypto.randomUUID() })).toEqual([
        { where, action: 'deleted', count: 2 },
      ]);
      expect(total(await c.verify(p.ids))).toBe(0);
      expect((await keysUnder(`uploads/${tag}/`)).sort()).toEqual([
        `uploads/${tag}/other.jpg`,
        `uploads/${tag}/unreferenced.jpg`,
      ]);
      expect(await keysUnder(`uploads/${tag}/`, 'archive')).toEqual([`uploads/${tag}/elsewhere.jpg`]);
      await dataMap.close();
    });
  });
});
