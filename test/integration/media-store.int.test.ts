import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDsrDeps, createRequest, exportSubject, getRequestView } from '../../src/modules/dsr/index.js';
import {
  createGraphMediaClient,
  fetchMedia,
  MEDIA_ID_LIFETIME_MS,
  MediaFetchError,
  openMediaStore,
  readMediaFile,
  startMediaWorkers,
  sweepMediaDeletions,
  type MediaStore,
} from '../../src/modules/media/index.js';
import { addTenant } from '../../src/modules/tenants/index.js';
import { startFakeGraph, type FakeGraph } from '../helpers/fake-graph.js';
import {
  createTestApp,
  fakePerson,
  storeKinds,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  type TestApp,
} from '../helpers/test-app.js';
import {
  contact,
  delivery,
  imageMessage,
  phoneOf,
  postWebhook,
  type Person,
} from '../helpers/webhook-payloads.js';

/** The optional media store: download through the Graph API, encrypted at rest, deleted with the person. */

const TOKEN = 'test-access-token';
const MEDIA = {
  id: 'media-on',
  phoneNumberId: '100000000000007',
  appSecret: 'media-on-app-secret-77',
  accessToken: TOKEN,
};

const DEFAULT = {
  id: 'default',
  phoneNumberId: TEST_PHONE_NUMBER_ID,
  appSecret: TEST_APP_SECRET,
  accessToken: TOKEN,
};

const newMediaId = () => String(crypto.randomInt(1_000_000_000, 9_999_999_999));
/** Recognisable plaintext spanning several encryption segments. */
const picture = (kb = 200) =>
  Buffer.concat([Buffer.from('\xff\xd8\xffPLAINTEXT-PICTURE-'.repeat(20)), crypto.randomBytes(kb * 1024)]);
const base64Digest = (b: Buffer) => crypto.createHash('sha256').update(b).digest('base64');

describe.each(storeKinds())('media store on %s', (kind) => {
  let t: TestApp;
  let fake: FakeGraph;
  let store: MediaStore;
  beforeAll(async () => {
    fake = await startFakeGraph();
    t = await createTestApp(kind, { WHATSAPP_GRAPH_URL: fake.url, WHATSAPP_ACCESS_TOKEN: TOKEN });
    await addTenant(
      { db: t.ctx.database.db, keyring: t.ctx.keyring },
      { ...MEDIA, settings: { storeMedia: true } },
    );
    await t.ctx.tenants.reload();
    store = openMediaStore(t.config);
    await startMediaWorkers(t.ctx);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const db = () => t.ctx.database.db;
  const deps = () => ({
    database: t.ctx.database,
    subjectKeys: t.ctx.subjectKeys,
    tenants: t.ctx.tenants,
    logger: t.ctx.logger,
    clock: t.ctx.clock,
    store,
    graph: createGraphMediaClient({ baseUrl: fake.url }),
  });

  /** Send one image from a person; returns the media row id. */
  async function sendImage(p: Person, mediaId: string, sha256: string, tenant = MEDIA) {
    const res = await postWebhook(
      t,
      delivery(
        { contacts: [contact(p)], messages: [imageMessage(p, { id: mediaId, sha256 })] },
        tenant.phoneNumberId,
      ),
      { secret: tenant.appSecret },
    );
    expect(res.statusCode).toBe(200);
    const subjectId = await t.ctx.subjects.find(db(), tenant.id, [phoneOf(p)]);
    const row = await db()
      .selectFrom('media')
      .select(['id', 'subject_id'])
      .where('subject_id', '=', subjectId!)
      .orderBy('received_at', 'desc')
      .executeTakeFirstOrThrow();
    return { rowId: row.id, subjectId: row.subject_id };
  }
  const mediaRow = (id: string) =>
    db().selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst();
  const fetchJobs = async (rowId: string) =>
    (
      await sql<{ state: string; retry_count: number }>`
        select state, retry_count from pgboss.job where name = 'media.fetch' and data->>'mediaRowId' = ${rowId}`.execute(
        db(),
      )
    ).rows;
  const deleteJobs = async (key: string) =>
    (
      await sql<{ n: number }>`
        select count(*)::int as n from pgboss.job where name = 'media.delete' and data->>'storageKey' = ${key}`.execute(
        db(),
      )
    ).rows[0]?.n;
  const requestsFor = (mediaId: string) => fake.mediaRequests.filter((r) => r.mediaId === mediaId);
  const fileOf = (key: string) => path.join(t.dataDir, 'media', ...key.split('/'));
  async function plaintextOf(rowId: string, tenantId = MEDIA.id): Promise<Buffer> {
    const file = await readMediaFile({ ...deps() }, { tenantId, mediaRowId: rowId });
    if (!file) throw new Error('no stored file');
    const chunks: Buffer[] = [];
    for await (const c of file.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  /** A person with one stored picture. */
  async function storedPicture() {
    const p = fakePerson();
    const bytes = picture();
    const mediaId = newMediaId();
    fake.addMedia(mediaId, bytes);
    const { rowId, subjectId } = await sendImage(p, mediaId, base64Digest(bytes));
    await expect
      .poll(async () => (await mediaRow(rowId))?.stored_at ?? null, { timeout: 15_000 })
      .not.toBeNull();
    const key = (await mediaRow(rowId))!.storage_key!;
    return { p, bytes, mediaId, rowId, subjectId, key };
  }
  async function erase(
    subjectId: string,
    scope: 'all' | 'media',
    after?: () => Promise<void>,
    tenantId = MEDIA.id,
  ) {
    const tenant = await t.ctx.tenants.get(tenantId);
    return db()
      .transaction()
      .execute(async (tx) => {
        const r = await createRequest(tx, createDsrDeps(t.ctx), {
          tenant,
          type: 'erasure',
          scope,
          channel: 'webhook',
          subject: { subjectId },
          verification: 'signed_webhook',
          actor: { type: 'subject' },
        });
        await after?.();
        return r;
      });
  }

  it('downloads an image with the bearer token and stores it encrypted under the sender’s key', async () => {
    const { bytes, mediaId, rowId, subjectId, key } = await storedPicture();
    expect(requestsFor(mediaId).map((r) => [r.kind, r.authorized])).toEqual([
      ['retrieve', true],
      ['download', true],
    ]);
    const row = (await mediaRow(rowId))!;
    expect(key).toMatch(new RegExp(`^${MEDIA.id}/[0-9a-f]{32}$`));
    expect(row.stored_size).toBe(bytes.length);
    const onDisk = fs.readFileSync(fileOf(key));
    expect(onDisk.length).toBeGreaterThan(bytes.length);
    expect(onDisk.includes(bytes.subarray(0, 32))).toBe(false);
    expect(onDisk.includes(Buffer.from('PLAINTEXT-PICTURE'))).toBe(false);
    expect(onDisk.includes(bytes.subarray(100_000, 100_032))).toBe(false);
    expect((await plaintextOf(rowId)).equals(bytes)).toBe(true);
    expect(await fetchJobs(rowId)).toEqual([{ state: 'completed', retry_count: 0 }]);

    // The access export lists the file (name, type, size), never its bytes.
    const bundle = await exportSubject(
      db(),
      { subjectKeys: t.ctx.subjectKeys, clock: t.ctx.clock },
      { subjectId },
    );
    const media = bundle.categories.find((c) => c.id === 'media')!.records;
    expect(media).toEqual([
      expect.objectContaining({
        mime_type: 'image/jpeg',
        stored_file: key.split('/')[1],
        stored_file_size_bytes: bytes.length,
      }),
    ]);
    expect(t.logs.text()).not.toContain(mediaId);
  });

  it('drops a file whose sha256 differs from the webhook’s, and an expired media id, without retrying', async () => {
    const p = fakePerson();
    const bytes = picture(8);
    const mismatched = newMediaId();
    fake.addMedia(mismatched, bytes);
    const bad = await sendImage(p, mismatched, base64Digest(Buffer.from('something else')));
    const expired = newMediaId(); // never known to the fake: a 404, as after its 7 days
    const gone = await sendImage(p, expired, base64Digest(bytes));

    for (const rowId of [bad.rowId, gone.rowId]) {
      await expect
        .poll(async () => fetchJobs(rowId), { timeout: 15_000 })
        .toEqual([{ state: 'completed', retry_count: 0 }]);
      const row = (await mediaRow(rowId))!;
      expect([row.storage_key, row.stored_at]).toEqual([null, null]);
    }
    expect(requestsFor(mismatched).map((r) => r.kind)).toEqual(['retrieve', 'download']);
    expect(requestsFor(expired).map((r) => r.kind)).toEqual(['retrieve']);
    expect(
      fs.readdirSync(path.join(t.dataDir, 'media', MEDIA.id)).filter((f) => f.endsWith('.partial')),
    ).toEqual([]);
    expect(await db().selectFrom('media_deletions').selectAll().execute()).toEqual([]);
  });

  it('downloads nothing for a tenant that does not store media', async () => {
    const p = fakePerson();
    const mediaId = newMediaId();
    fake.addMedia(mediaId, picture(4));
    const { rowId } = await sendImage(p, mediaId, base64Digest(Buffer.from('x')), DEFAULT);
    expect(await fetchJobs(rowId)).toEqual([]);
    expect((await mediaRow(rowId))?.storage_key).toBeNull();
    expect(requestsFor(mediaId)).toEqual([]);
  });

  it('retries a 5xx, drops it once the media id has expired, and caps the size', async () => {
    // Rows of the default tenant (storeMedia off) have no job, so fetchMedia runs here alone.
    const p = fakePerson();
    const bytes = picture(16);
    const mediaId = newMediaId();
    fake.addMedia(mediaId, bytes);
    const { rowId } = await sendImage(p, mediaId, base64Digest(bytes), DEFAULT);

    fake.failMediaNext(1, 503);
    const err = await fetchMedia(deps(), rowId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaFetchError);
    expect((err as MediaFetchError).permanent).toBe(false);
    expect((await mediaRow(rowId))?.stored_at).toBeNull();

    fake.failMediaNext(1, 429);
    const late = new Date(Date.now() + MEDIA_ID_LIFETIME_MS + 60_000);
    expect(await fetchMedia({ ...deps(), clock: () => late }, rowId)).toEqual({ dropped: 'expired' });
    expect(await fetchMedia({ ...deps(), maxBytes: 4096 }, rowId)).toEqual({ dropped: 'too_large' });

    expect(await fetchMedia(deps(), rowId)).toBe('stored');
    expect((await plaintextOf(rowId, 'default')).equals(bytes)).toBe(true);
  });

  it('erasing the person deletes the file after the commit, and counts it', async () => {
    const { subjectId, key } = await storedPicture();
    const request = await erase(subjectId, 'all', async () => {
      // Inside the erasure transaction: the file is still there, its deletion only queued.
      expect(fs.existsSync(fileOf(key))).toBe(true);
    });
    expect(request.status).toBe('completed');
    expect(await deleteJobs(key)).toBe(1);
    await expect.poll(() => fs.existsSync(fileOf(key)), { timeout: 15_000 }).toBe(false);
    const view = await getRequestView(db(), MEDIA.id, request.id, new Date());
    expect(view?.systems[0]?.counts).toMatchObject({ media: 1, media_files: 1 });
    await expect
      .poll(async () => (await db().selectFrom('media_deletions').selectAll().execute()).length)
      .toBe(0);
  });

  it('a rolled-back erasure leaves the file, readable, and queues nothing', async () => {
    const { bytes, rowId, subjectId, key } = await storedPicture();
    await expect(
      erase(subjectId, 'all', () => Promise.reject(new Error('crash after the erasure, before the commit'))),
    ).rejects.toThrow('crash');
    expect(await deleteJobs(key)).toBe(0);
    expect(await db().selectFrom('media_deletions').selectAll().execute()).toEqual([]);
    await sweepMediaDeletions({ ...deps() });
    expect(fs.existsSync(fileOf(key))).toBe(true);
    expect((await mediaRow(rowId))?.storage_key).toBe(key);
    expect((await plaintextOf(rowId)).equals(bytes)).toBe(true);
  });

  it('a media-only erasure deletes the files and keeps the person', async () => {
    const { subjectId, key } = await storedPicture();
    const request = await erase(subjectId, 'media');
    expect(request.status).toBe('completed');
    await expect.poll(() => fs.existsSync(fileOf(key)), { timeout: 15_000 }).toBe(false);
    expect(
      await db().selectFrom('subjects').select('id').where('id', '=', subjectId).executeTakeFirst(),
    ).toBeDefined();
  });

  it('a download that finishes after its row was erased deletes its own file', async () => {
    const p = fakePerson();
    const bytes = picture(8);
    const mediaId = newMediaId();
    fake.addMedia(mediaId, bytes);
    const { rowId, subjectId } = await sendImage(p, mediaId, base64Digest(bytes), DEFAULT);
    let reserved = '';
    let erasure: string | undefined;
    fake.beforeNextDownload(async () => {
      reserved = (await mediaRow(rowId))!.storage_key!;
      erasure = (await erase(subjectId, 'all', undefined, 'default')).status;
    });
    expect(await fetchMedia(deps(), rowId)).toBe('missing');
    expect(erasure).toBe('completed');
    expect(reserved).toMatch(/^default\/[0-9a-f]{32}$/);
    expect(fs.existsSync(fileOf(reserved))).toBe(false);
    expect(fs.existsSync(`${fileOf(reserved)}.partial`)).toBe(false);
    expect(await deleteJobs(reserved)).toBe(1); // the erasure saw the reserved name and queued its deletion too
  });

  it('a deletion of the reserved name while the file is written ends the download as missing', async () => {
    const p = fakePerson();
    const bytes = picture(8);
    const mediaId = newMediaId();
    fake.addMedia(mediaId, bytes);
    const { rowId, subjectId } = await sendImage(p, mediaId, base64Digest(bytes), DEFAULT);
    let reserved = '';
    fake.beforeNextDownload(async () => {
      reserved = (await mediaRow(rowId))!.storage_key!;
      await erase(subjectId, 'all', undefined, 'default');
    });
    // The erasure's media.delete job for the reserved name runs while the file is being written: here, once the
    // partial file exists and before the last bytes are in, so before it is synced and renamed into place.
    const racing: MediaStore = {
      ...store,
      put: (key, body) =>
        store.put(
          key,
          body.pipe(
            new Transform({
              transform: (chunk: Buffer, _enc, cb) => cb(null, chunk),
              flush: (cb) => {
                void (async () => {
                  // The partial file exists once the store has opened it for this write.
                  for (let i = 0; i < 200 && !fs.existsSync(`${fileOf(key)}.partial`); i++)
                    await new Promise((r) => setTimeout(r, 10));
                  await store.delete(key);
                })().then(() => cb(), cb);
              },
            }),
          ),
        ),
    };
    expect(await fetchMedia({ ...deps(), store: racing }, rowId)).toBe('missing');
    expect(fs.existsSync(fileOf(reserved))).toBe(false);
    expect(fs.existsSync(`${fileOf(reserved)}.partial`)).toBe(false);
  });

  it('a row deleted by any other path (retention) is journaled and its file swept', async () => {
    const { rowId, key } = await storedPicture();
    await db().deleteFrom('media').where('id', '=', rowId).execute();
    expect(
      (await db().selectFrom('media_deletions').select('storage_key').execute()).map((r) => r.storage_key),
    ).toContain(key);
    expect(await sweepMediaDeletions({ ...deps() })).toBeGreaterThanOrEqual(1);
    expect(fs.existsSync(fileOf(key))).toBe(false);
    expect(await db().selectFrom('media_deletions').selectAll().execute()).toEqual([]);
  });
});
