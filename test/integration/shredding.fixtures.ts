import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { buildServer } from '../../src/app/server.js';
import { createContext } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/config.js';
import { DecryptError } from '../../src/lib/crypto/index.js';
import { createLogger } from '../../src/lib/log.js';
import {
  createPgDatabase,
  LogCapture,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  TEST_VERIFY_TOKEN,
  type StoreKind,
  type TestApp,
} from '../helpers/test-app.js';
import {
  contact,
  deletionRequestJson,
  delivery,
  flowReplyMessage,
  phoneOf,
  postWebhook,
  textMessage,
  type Person,
} from '../helpers/webhook-payloads.js';

/**
 * A flowguard deployment whose processes can be stopped and started again on the same stores: a data dir (the
 * embedded key store lives in it), and for PostgreSQL a main database plus a separate key-store database.
 * Snapshots of the main database only (pg_dump / PGlite dumpDataDir), never of the key store.
 */

const run = promisify(execFile);

export interface Deployment {
  kind: StoreKind;
  dataDir: string;
  databaseUrl: string | undefined;
  keyStoreUrl: string | undefined;
  masterKey: string;
  cleanup: (() => Promise<void>)[];
}

export async function createDeployment(kind: StoreKind): Promise<Deployment> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-shred-'));
  const dep: Deployment = {
    kind,
    dataDir,
    databaseUrl: undefined,
    keyStoreUrl: undefined,
    masterKey: crypto.randomBytes(32).toString('base64'),
    cleanup: [async () => fs.rmSync(dataDir, { recursive: true, force: true })],
  };
  if (kind === 'postgres') {
    const main = await createPgDatabase();
    const keys = await createPgDatabase();
    dep.databaseUrl = main.url;
    dep.keyStoreUrl = keys.url;
    dep.cleanup.push(main.drop, keys.drop);
  }
  return dep;
}

export async function destroyDeployment(dep: Deployment | undefined): Promise<void> {
  for (const c of (dep?.cleanup ?? []).reverse()) await c();
}

/** The environment of one flowguard process of the deployment (`env` overrides). */
export function deploymentEnv(dep: Deployment, env: Record<string, string | undefined> = {}) {
  return {
    FLOWGUARD_DATA_DIR: dep.dataDir,
    FLOWGUARD_MASTER_KEY: dep.masterKey,
    DATABASE_URL: dep.databaseUrl,
    FLOWGUARD_KEYSTORE_URL: dep.keyStoreUrl,
    WHATSAPP_APP_SECRET: TEST_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
    FLOWGUARD_LOG_LEVEL: 'warn',
    ...env,
  };
}

/**
 * Start flowguard (context + HTTP server driven with inject) on the deployment. The embedded store starts from
 * `loadDataDir` (a snapshot) or the migrated template; `close()` stops it and keeps every store.
 */
export async function openApp(
  dep: Deployment,
  opts: { env?: Record<string, string | undefined>; loadDataDir?: Blob } = {},
): Promise<TestApp> {
  const config = loadConfig(deploymentEnv(dep, opts.env), dep.dataDir);
  const logs = new LogCapture();
  const loadDataDir =
    dep.kind === 'pglite'
      ? (opts.loadDataDir ?? new Blob([fs.readFileSync(inject('pgliteTemplate'))]))
      : undefined;
  const ctx = await createContext(config, { logger: createLogger('warn', logs), loadDataDir });
  const app = await buildServer(ctx);
  return {
    kind: dep.kind,
    ctx,
    app,
    config,
    logs,
    dataDir: dep.dataDir,
    databaseUrl: config.databaseUrl,
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}

export type Snapshot = { kind: 'pglite'; blob: Blob } | { kind: 'postgres'; file: string };

/** A backup of the main database alone: PGlite's dumpDataDir, or pg_dump's custom format. */
export async function snapshotDatabase(dep: Deployment, t: TestApp): Promise<Snapshot> {
  if (dep.kind === 'pglite') return { kind: 'pglite', blob: await t.ctx.database.dump!() };
  const file = path.join(dep.dataDir, `snapshot-${crypto.randomBytes(4).toString('hex')}.dump`);
  await run('pg_dump', ['--format=custom', '--no-owner', '--file', file, dep.databaseUrl!]);
  return { kind: 'postgres', file };
}

/** Restore a snapshot into a new database and point the deployment at it (the key store stays as it is). */
export async function restoreSnapshot(dep: Deployment, snap: Snapshot): Promise<{ loadDataDir?: Blob }> {
  if (snap.kind === 'pglite') return { loadDataDir: snap.blob };
  const fresh = await createPgDatabase();
  dep.cleanup.push(fresh.drop);
  await run('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', fresh.url, snap.file]);
  dep.databaseUrl = fresh.url;
  return {};
}

/** A person writes in: a subject with an encrypted phone number and profile name. */
export async function ingest(t: TestApp, p: Person): Promise<string> {
  const res = await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, 'hello')] }));
  if (res.statusCode !== 200) throw new Error(`webhook refused: ${res.statusCode}`);
  const id = await t.ctx.subjects.find(t.ctx.database.db, 'default', [phoneOf(p)]);
  if (!id) throw new Error('no subject');
  return id;
}

/** The person asks for erasure from their own WhatsApp session (a signed Flow completion: executed at once). */
export async function eraseFromWhatsApp(t: TestApp, p: Person): Promise<void> {
  const payload = deletionRequestJson(p.waId, { flowToken: 'restore_test' });
  const res = await postWebhook(
    t,
    delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, payload)] }),
  );
  if (res.statusCode !== 200) throw new Error(`webhook refused: ${res.statusCode}`);
}

/**
 * What can be read of a subject's encrypted fields with the keys flowguard holds: the decrypted phone number
 * and profile name, or `no_key` when the key is gone (or the subject erased), `undecryptable` when a key
 * exists but does not open them.
 */
export async function readSubject(
  t: TestApp,
  subjectId: string,
): Promise<{ phone: string; name: string } | 'no_key' | 'undecryptable' | 'absent'> {
  const db = t.ctx.database.db;
  const subject = await db.selectFrom('subjects').selectAll().where('id', '=', subjectId).executeTakeFirst();
  if (!subject) return 'absent';
  const cipher = await t.ctx.subjectKeys.cipher(db, subjectId);
  if (!cipher) return 'no_key';
  const identity = await db
    .selectFrom('identities')
    .selectAll()
    .where('subject_id', '=', subjectId)
    .where('kind', '=', 'phone')
    .executeTakeFirstOrThrow();
  try {
    return {
      phone: cipher.decrypt(identity.value, 'identities', 'value', identity.id),
      name: cipher.decrypt(subject.profile_name!, 'subjects', 'profile_name', subjectId),
    };
  } catch (err) {
    if (err instanceof DecryptError) return 'undecryptable';
    throw err;
  }
}
