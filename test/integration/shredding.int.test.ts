import crypto from 'node:crypto';
import os from 'node:os';
import zlib from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStoreCommand } from '../../src/cli/admin-socket.js';
import '../../src/cli/commands/index.js';
import { createFieldCipher, masterKeyVersion, sealPurposeKey } from '../../src/lib/crypto/index.js';
import { pendingShreds, startShredWorker } from '../../src/modules/keys/index.js';
import { loadConfig } from '../../src/config/config.js';
import { createTestApp, fakePerson, hasService, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  bsuidOf,
  contact,
  delivery,
  phoneOf,
  postWebhook,
  textMessage,
} from '../helpers/webhook-payloads.js';
import {
  createDeployment,
  destroyDeployment,
  eraseFromWhatsApp,
  ingest,
  openApp,
  readSubject,
  snapshotDatabase,
  type Deployment,
} from './shredding.fixtures.js';

/** Subject keys live in the key store, apart from the database; an erasure shreds them through the journal. */
describe.each(storeKinds())('crypto-shredding on %s', (kind) => {
  let dep: Deployment;
  let t: TestApp;
  beforeAll(async () => {
    dep = await createDeployment(kind);
    t = await openApp(dep);
  });
  afterAll(async () => {
    await t?.close();
    await destroyDeployment(dep);
  });
  const db = () => t.ctx.database.db;

  /** Stop flowguard and start it again on the same stores (the embedded database via its dump). */
  async function restart(env: Record<string, string | undefined> = {}) {
    const snap = await snapshotDatabase(dep, t);
    await t.close();
    t = await openApp(dep, { env, loadDataDir: snap.kind === 'pglite' ? snap.blob : undefined });
  }

  async function waitFor(check: () => Promise<boolean>, ms = 20_000) {
    const until = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > until) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('keeps every subject key in the key store, none in the database or its backup', async () => {
    const p = fakePerson();
    const id = await ingest(t, p);
    expect(t.ctx.keyStore.separate).toBe(true);
    const stored = await t.ctx.keyStore.get(t.ctx.subjectKeys.ref(id));
    expect(stored).toMatchObject({ tenantId: 'default', masterVersion: t.ctx.keyring.masterVersion });
    expect(stored!.wrapped).toMatch(/^v1\./);
    expect(await db().selectFrom('subject_keys').selectAll().execute()).toEqual([]);
    const status = await runStoreCommand(t.ctx, 'keys.status', {});
    expect(status.output).toMatchObject({
      key_store: { kind: kind === 'pglite' ? 'file' : 'postgres', separate_from_database: true },
      master_version: t.ctx.keyring.masterVersion,
      keys: 1,
      keys_under_older_master: 0,
      shreds_pending: 0,
      blind_index_version: 'b1',
      audit_key_version: 'a1',
    });
    if (kind === 'pglite') {
      const dump = await t.ctx.database.dump!();
      const raw = zlib.gunzipSync(Buffer.from(await dump.arrayBuffer()));
      expect(raw.includes(stored!.wrapped)).toBe(false);
      expect(raw.includes(stored!.ref)).toBe(false);
    } else {
      const schemas = await sql<{ n: string }>`
        select count(*)::text as n from information_schema.schemata where schema_name = 'keystore'`.execute(
        db(),
      );
      expect(schemas.rows[0]?.n).toBe('0');
    }
  });

  it('refuses the key of a subject deleted by any path from the commit on, before the key is shredded', async () => {
    const p = fakePerson();
    const id = await ingest(t, p);
    expect(await readSubject(t, id)).toEqual({ phone: p.e164, name: p.name });
    // A DELETE outside the erasure path (a sweep, another instance): the trigger journals it all the same.
    await db().deleteFrom('subjects').where('id', '=', id).execute();
    expect(await t.ctx.subjectKeys.cipher(db(), id)).toBeUndefined();
    const journal = await db()
      .selectFrom('erasure_journal')
      .selectAll()
      .where('subject_id', '=', id)
      .execute();
    expect(journal).toHaveLength(1);
    expect(journal[0]).toMatchObject({ tenant_id: 'default', ref: null, shredded_at: null });
    expect(await t.ctx.keyStore.get(t.ctx.subjectKeys.ref(id))).toBeDefined();
  });

  it('shreds right after an erasure commits, and repairs on restart what a crash left pending', async () => {
    const p = fakePerson();
    const id = await ingest(t, p);
    const ref = t.ctx.subjectKeys.ref(id);
    // The erasure's commit wakes the shred worker through the journal's trigger; none is running here.
    const woken: string[] = [];
    const unlisten = await t.ctx.database.listen('flowguard_jobs', (name) => woken.push(name));
    try {
      await eraseFromWhatsApp(t, p);
      await waitFor(async () => woken.includes('table:erasure_journal'), 10_000);
    } finally {
      await unlisten();
    }
    expect(await pendingShreds(db())).toBeGreaterThanOrEqual(1);

    // "Crash": stop before any worker ran; the key is still in the key store.
    await restart();
    expect(await t.ctx.keyStore.get(ref)).toBeDefined();
    expect(await t.ctx.subjectKeys.cipher(db(), id)).toBeUndefined();
    await startShredWorker(t.ctx);
    await waitFor(async () => (await pendingShreds(db())) === 0);
    expect(await t.ctx.keyStore.get(ref)).toBeUndefined();
    expect(await t.ctx.keyStore.journaled([ref])).toEqual(new Set([ref]));
    const rows = await db().selectFrom('erasure_journal').selectAll().where('ref', '=', ref).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subject_id).toBeNull();
    expect(rows[0]!.shredded_at).not.toBeNull();

    // With the worker running, the next erasure's key goes within moments.
    const q = fakePerson();
    const qid = await ingest(t, q);
    const started = Date.now();
    await eraseFromWhatsApp(t, q);
    await waitFor(async () => (await t.ctx.keyStore.get(t.ctx.subjectKeys.ref(qid))) === undefined, 10_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('moves keys from the old in-database table to the key store at start', async () => {
    const p = fakePerson();
    const subjectId = crypto.randomUUID();
    const identityId = crypto.randomUUID();
    const dataKey = crypto.randomBytes(32);
    const cipher = createFieldCipher(dataKey);
    await db()
      .insertInto('subjects')
      .values({ id: subjectId, tenant_id: 'default', profile_name: null })
      .execute();
    await db()
      .insertInto('subject_keys')
      .values({
        subject_id: subjectId,
        tenant_id: 'default',
        wrapped_key: t.ctx.keyring.wrapDataKey(dataKey, subjectId),
        master_version: 'm1',
      })
      .execute();
    await db()
      .insertInto('identities')
      .values({
        id: identityId,
        tenant_id: 'default',
        subject_id: subjectId,
        kind: 'phone',
        blind_index: t.ctx.keyring.hmac('blind-index', `default\u0000phone\u0000${p.e164}`),
        value: cipher.encrypt(p.e164, 'identities', 'value', identityId),
      })
      .execute();
    await restart();
    expect(await db().selectFrom('subject_keys').selectAll().execute()).toEqual([]);
    const moved = await t.ctx.keyStore.get(t.ctx.subjectKeys.ref(subjectId));
    expect(moved?.masterVersion).toBe(t.ctx.keyring.masterVersion);
    const opened = await t.ctx.subjectKeys.cipher(db(), subjectId);
    const row = await db()
      .selectFrom('identities')
      .selectAll()
      .where('id', '=', identityId)
      .executeTakeFirstOrThrow();
    expect(opened!.decrypt(row.value, 'identities', 'value', identityId)).toBe(p.e164);
  });

  it('finds people under every blind-index version held during a transition', async () => {
    const old = fakePerson();
    const oldId = await ingest(t, old);
    const key = Buffer.from(dep.masterKey, 'base64');
    await t.ctx.keyStore.putMaterial(
      [sealPurposeKey({ version: masterKeyVersion(key), key }, 'blind-index', 'b2', crypto.randomBytes(32))],
      'if-absent',
    );
    await restart();
    expect(t.ctx.keyring.hmacVersion('blind-index')).toBe('b2');
    // The person known under b1 writes again, now also with a BSUID: still one subject.
    const res = await postWebhook(
      t,
      delivery({
        contacts: [contact(old, { phone: true, bsuid: true })],
        messages: [textMessage(old, 'again')],
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(await t.ctx.subjects.find(db(), 'default', [phoneOf(old)])).toBe(oldId);
    const versions = await db()
      .selectFrom('identities')
      .select(['kind', 'blind_index_version'])
      .where('subject_id', '=', oldId)
      .orderBy('kind')
      .execute();
    expect(versions).toEqual([
      { kind: 'bsuid', blind_index_version: 'b2' },
      { kind: 'phone', blind_index_version: 'b1' },
    ]);
    expect(await t.ctx.subjects.find(db(), 'default', [bsuidOf(old)])).toBe(oldId);
  });
});

describe('key store placement', () => {
  it('refuses a key store URL that names the database it protects', () => {
    const url = 'postgres://flowguard:pw@db.internal:5432/flowguard';
    expect(() =>
      loadConfig(
        {
          DATABASE_URL: url,
          FLOWGUARD_KEYSTORE_URL: 'postgresql://other:pw2@db.internal/flowguard?sslmode=require',
          FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
        },
        os.tmpdir(),
      ),
    ).toThrow(/FLOWGUARD_KEYSTORE_URL: must name a different database/);
    expect(
      loadConfig(
        {
          DATABASE_URL: url,
          FLOWGUARD_KEYSTORE_URL: 'postgres://keys:pw@db.internal:5432/flowguard_keys',
          FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
        },
        os.tmpdir(),
      ).keyStoreUrl,
    ).toContain('flowguard_keys');
  });

  it.runIf(hasService('postgres'))(
    'warns at every start when the keys share the PostgreSQL database',
    async () => {
      const t = await createTestApp('postgres');
      try {
        expect(t.ctx.keyStore.separate).toBe(false);
        expect(t.logs.text()).toContain('FLOWGUARD_KEYSTORE_URL is not set');
      } finally {
        await t.close();
      }
    },
  );
});
