import crypto from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema, type IdentityFormat, type SystemSpec } from '../../src/config/datamap.js';
import { createAzureBlobConnector } from '../../src/modules/connectors/azure-blob/index.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import type { ConnectorDeps, Located, SubjectIdentifiers } from '../../src/modules/connectors/port.js';
import { startAzurite, type AzuriteInstance } from '../helpers/azurite.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

type AzureSpec = Extract<SystemSpec, { type: 'azure-blob' }>;
const PREFIXES = ['users/{digits}/', 'flows/{e164}/', 'bsuid/{bsuid}/'];
const total = (xs: Located[]) => xs.reduce((n, x) => n + x.count, 0);
const noDeps = { lookup: () => undefined };

describe('azure-blob connector', () => {
  let azurite: AzuriteInstance;
  let container: ContainerClient;
  const proxies: FaultProxy[] = [];

  const spec = (
    over: Record<string, unknown> = {},
    connectionString = azurite.connectionString,
  ): AzureSpec => {
    const s = systemSchema.parse({
      id: 'media',
      type: 'azure-blob',
      connectionString,
      container: 'media',
      prefixes: PREFIXES,
      ...over,
    });
    if (s.type !== 'azure-blob') throw new Error('not an azure-blob spec');
    return s;
  };

  async function put(names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 32) {
      await Promise.all(
        names.slice(i, i + 32).map((n) => container.getBlockBlobClient(n).upload(`blob ${n}`, 5 + n.length)),
      );
    }
  }

  async function namesUnder(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
    return out;
  }

  /** Media in all three formats; one blob carries a snapshot, which erasure must take along. */
  async function seed(p: ContractPerson): Promise<void> {
    await put([
      `users/${p.digits}/voice-1.ogg`,
      `users/${p.digits}/image-1.jpg`,
      `flows/${p.e164}/upload.pdf`,
      `bsuid/${p.bsuid}/id-card.png`,
    ]);
    await container.getBlobClient(`users/${p.digits}/image-1.jpg`).createSnapshot();
  }

  beforeAll(async () => {
    azurite = await startAzurite();
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('media');
    await container.create();
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await azurite?.close();
  });

  describe('contract', () => {
    connectorContract({
      connector: () => createAzureBlobConnector(spec(), noDeps),
      seed,
      unreachable: async () => {
        const proxy = await startFaultProxy({ host: azurite.host, port: azurite.port });
        proxies.push(proxy);
        proxy.cut();
        return {
          connector: createAzureBlobConnector(
            spec({}, azurite.connectionStringFor('127.0.0.1', proxy.port)),
            noDeps,
          ),
          restore: () => proxy.restore(),
        };
      },
    });
  });

  it('deletes blobs with their snapshots', async () => {
    const c = createAzureBlobConnector(spec(), noDeps);
    const p = contractPerson();
    await seed(p);
    await c.erase(p.ids, { requestId: crypto.randomUUID() });
    const left: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `users/${p.digits}/`, includeSnapshots: true })) {
      left.push(b.name);
    }
    expect(left).toEqual([]);
    await c.close();
  });

  it('pages through more than 1,000 blobs under one prefix and deletes them all', async () => {
    const c = createAzureBlobConnector(spec(), noDeps);
    const [p, other] = [contractPerson(), contractPerson()];
    await put(
      Array.from({ length: 1_020 }, (_, i) => `users/${p.digits}/m-${String(i).padStart(4, '0')}.jpg`),
    );
    await seed(other);
    expect((await c.locate(p.ids)).find((l) => l.where === 'prefix users/{digits}/')?.count).toBe(1_020);
    const out = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(out.find((o) => o.where === 'prefix users/{digits}/')?.count).toBe(1_020);
    expect(total(await c.verify(p.ids))).toBe(0);
    expect(await namesUnder(`users/${p.digits}/`)).toEqual([]);
    expect(await namesUnder(`users/${other.digits}/`)).toHaveLength(2);
    await c.close();
  });

  it('fails permanently when the container does not exist, and retryably on a closed port', async () => {
    const p = contractPerson();
    const missing = createAzureBlobConnector(spec({ container: 'no-such-container' }), noDeps);
    await expect(missing.erase(p.ids, { requestId: crypto.randomUUID() })).rejects.toBeInstanceOf(
      PermanentError,
    );
    await expect(missing.locate(p.ids)).rejects.toMatchObject({ code: 'azure_container_not_found' });
    expect((await missing.check()).reachable).toBe(false);
    await missing.close();
    const closed = createAzureBlobConnector(spec({}, azurite.connectionStringFor('127.0.0.1', 1)), noDeps);
    await expect(closed.erase(p.ids, { requestId: crypto.randomUUID() })).rejects.toBeInstanceOf(
      RetryableError,
    );
    await closed.close();
  });

  describe.runIf(hasService('postgres'))('keysFromSql', () => {
    let db: { url: string; drop: () => Promise<void> };
    let admin: pg.Client;

    beforeAll(async () => {
      db = await createPgDatabase();
      admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query(
        'create table attachments (id serial primary key, wa_id text not null, blob_url text)',
      );
    });
    afterAll(async () => {
      await admin?.end();
      await db?.drop();
    });

    /** ConnectorDeps.sqlColumnValues answered by a real PostgreSQL table (identifier values bound). */
    const deps: ConnectorDeps = {
      lookup: () => undefined,
      async sqlColumnValues(_system, table, identity, column, ids: SubjectIdentifiers) {
        const values = ids[identity.format as IdentityFormat];
        const r = await admin.query<{ v: string }>(
          `select "${column}" as v from "${table}" where "${identity.column}" = any($1) and "${column}" is not null`,
          [values],
        );
        return r.rows.map((row) => row.v);
      },
    };

    it('deletes the blobs a SQL column names for the person, as names or blob URLs, nothing else', async () => {
      const [p, other] = [contractPerson(), contractPerson()];
      const tag = crypto.randomBytes(4).toString('hex');
      await put([`att/${tag}/a.jpg`, `att/${tag}/b.pdf`, `att/${tag}/other.jpg`, `att/${tag}/kept.jpg`]);
      await admin.query(
        `insert into attachments (wa_id, blob_url) values ($1, $2), ($1, $3), ($1, $4), ($5, $6)`,
        [
          p.digits,
          `att/${tag}/a.jpg`,
          `${container.url}/att/${tag}/b.pdf`,
          `http://127.0.0.1:${azurite.port}/devstoreaccount1/elsewhere/att/${tag}/kept.jpg`,
          other.digits,
          `att/${tag}/other.jpg`,
        ],
      );
      const c = createAzureBlobConnector(
        spec({
          prefixes: [],
          keysFromSql: [
            {
              system: 'app',
              table: 'attachments',
              identity: { column: 'wa_id', format: 'digits' },
              keyColumn: 'blob_url',
            },
          ],
        }),
        deps,
      );
      const where = 'keys in app.attachments.blob_url';
      expect(await c.locate(p.ids)).toEqual([{ where, count: 2, retained: undefined }]);
      expect(await c.erase(p.ids, { requestId: crypto.randomUUID() })).toEqual([
        { where, action: 'deleted', count: 2 },
      ]);
      expect(total(await c.verify(p.ids))).toBe(0);
      expect((await namesUnder(`att/${tag}/`)).sort()).toEqual([
        `att/${tag}/kept.jpg`,
        `att/${tag}/other.jpg`,
      ]);
      await c.close();
    });
  });
});
