import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createContext, type AppContext } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/config.js';
import { openDatabase } from '../../src/lib/db/database.js';
import { migrate } from '../../src/lib/db/migrate.js';
import { createLogger } from '../../src/lib/log.js';
import { PG_ADMIN_URL } from '../../test/helpers/services.js';

export type StoreKind = 'pglite' | 'postgres';

export const BENCH_APP_SECRET = 'bench-app-secret-0123456789';
export const BENCH_VERIFY_TOKEN = 'bench-verify-token-0123';
export const BENCH_PHONE_NUMBER_ID = '100000000000077';

/**
 * A fresh flowguard store for one scenario: an embedded data dir, or a new PostgreSQL database on the machine's
 * server, with the environment that `flowguard serve` and the harness's own context both use (same master key,
 * same default tenant, a generated Flows key pair whose public half the harness keeps).
 */
export interface BenchStore {
  kind: StoreKind;
  dir: string;
  env: Record<string, string>;
  publicKey: crypto.KeyObject;
  databaseUrl: string | undefined;
  drop(): Promise<void>;
}

/** The repository root (where bin/flowguard.js is), from the source or the compiled harness alike. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'bin', 'flowguard.js'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('bench: cannot find bin/flowguard.js above the harness');
    dir = up;
  }
  return dir;
}

async function adminQuery(text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

export async function postgresVersion(): Promise<string | undefined> {
  try {
    const r = await adminQuery('show server_version');
    return String(r.rows[0]?.server_version ?? '');
  } catch {
    return undefined;
  }
}

/** A new empty PostgreSQL database; the returned function drops it. */
export async function createPgDatabase(
  prefix = 'fg_bench',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${crypto.randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  return {
    url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

/** What every store of one harness process shares: master key and Flows key pair (so templates stay valid). */
interface Shared {
  dir: string;
  masterKey: string;
  keyFile: string;
  publicKey: crypto.KeyObject;
}

let shared: Shared | undefined;

function sharedKeys(): Shared {
  if (!shared) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-bench-keys-'));
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = path.join(dir, 'flows-private.pem');
    fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    shared = { dir, masterKey: crypto.randomBytes(32).toString('base64'), keyFile, publicKey };
  }
  return shared;
}

function baseEnv(
  dir: string,
  databaseUrl: string | undefined,
  keyStoreUrl: string | undefined,
): Record<string, string> {
  const keys = sharedKeys();
  return {
    FLOWGUARD_DATA_DIR: path.join(dir, 'data'),
    FLOWGUARD_MASTER_KEY: keys.masterKey,
    FLOWGUARD_LOG_LEVEL: 'info',
    WHATSAPP_APP_SECRET: BENCH_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: BENCH_VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: BENCH_PHONE_NUMBER_ID,
    // A local address that refuses connections: notification jobs never reach Meta from a benchmark.
    WHATSAPP_GRAPH_URL: 'http://127.0.0.1:9/v23.0',
    FLOWS_PRIVATE_KEY_FILE: keys.keyFile,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    // As production should run it: the key store in its own database, apart from the data and its backups.
    ...(keyStoreUrl ? { FLOWGUARD_KEYSTORE_URL: keyStoreUrl } : {}),
  };
}

/**
 * A migrated, empty store per kind, made once per harness process (migrations and the queue's schema cost
 * seconds on the embedded store): new stores are copies of it.
 */
interface Template {
  dir: string;
  /** PostgreSQL: the template databases of the data and of the key store. */
  pg: { data: PgDatabase; keys: PgDatabase } | undefined;
}

interface PgDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

async function pgDatabase(prefix: string, template?: string): Promise<PgDatabase> {
  const name = `${prefix}_${crypto.randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}${template ? ` template ${template}` : ''}`);
  return {
    url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    name,
    drop: async () => {
      await adminQuery(`drop database if exists ${name} with (force)`);
    },
  };
}

const templates = new Map<StoreKind, Promise<Template>>();
let pgliteDumpFile: string | undefined;

/** Start embedded stores from this migrated dump (tar.gz, e.g. the test suite's template) instead of migrating. */
export function usePgliteDump(file: string | undefined): void {
  pgliteDumpFile = file;
}

/**
 * A migrated embedded data dir, fast: migrating in memory and loading the dump into the directory takes a
 * fraction of migrating a file-backed PGlite.
 */
async function migratedPgliteDir(dataDir: string): Promise<void> {
  let dump: Blob;
  if (pgliteDumpFile) dump = new Blob([fs.readFileSync(pgliteDumpFile)]);
  else {
    const mem = await openDatabase({ databaseUrl: undefined, dataDir, inMemory: true });
    try {
      await migrate(mem);
      dump = await mem.dump!();
    } finally {
      await mem.close();
    }
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pglite = await PGlite.create(path.join(dataDir, 'pgdata'), { loadDataDir: dump });
  await pglite.close();
}

function template(kind: StoreKind): Promise<Template> {
  let t = templates.get(kind);
  if (!t) {
    t = (async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-bench-template-'));
      const pg =
        kind === 'postgres'
          ? { data: await pgDatabase('fg_bench_tpl'), keys: await pgDatabase('fg_bench_tplk') }
          : undefined;
      const env = baseEnv(dir, pg?.data.url, pg?.keys.url);
      if (!pg) await migratedPgliteDir(env.FLOWGUARD_DATA_DIR!);
      const config = loadConfig({ ...env, FLOWGUARD_LOG_LEVEL: 'warn' }, dir);
      const ctx = await createContext(config, { logger: createLogger('warn') });
      await ctx.close();
      return { dir, pg };
    })();
    templates.set(kind, t);
  }
  return t;
}

/** Remove the templates (end of a harness run). */
export async function disposeTemplates(): Promise<void> {
  for (const t of templates.values()) {
    const tpl = await t.catch(() => undefined);
    if (!tpl) continue;
    await tpl.pg?.data.drop();
    await tpl.pg?.keys.drop();
    fs.rmSync(tpl.dir, { recursive: true, force: true });
  }
  templates.clear();
  if (shared) fs.rmSync(shared.dir, { recursive: true, force: true });
  shared = undefined;
}

export async function createStore(
  kind: StoreKind,
  extraEnv: Record<string, string> = {},
): Promise<BenchStore> {
  const tpl = await template(kind);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-bench-'));
  let pgdb: { data: PgDatabase; keys: PgDatabase } | undefined;
  if (tpl.pg) {
    pgdb = {
      data: await pgDatabase('fg_bench', tpl.pg.data.name),
      keys: await pgDatabase('fg_benchk', tpl.pg.keys.name),
    };
  } else {
    fs.cpSync(path.join(tpl.dir, 'data'), path.join(dir, 'data'), {
      recursive: true,
      filter: (src) => !['store.lock', 'keystore.lock'].includes(path.basename(src)),
    });
  }
  return {
    kind,
    dir,
    env: { ...baseEnv(dir, pgdb?.data.url, pgdb?.keys.url), ...extraEnv },
    publicKey: sharedKeys().publicKey,
    databaseUrl: pgdb?.data.url,
    async drop() {
      await pgdb?.data.drop();
      await pgdb?.keys.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Open flowguard's context on the store inside the harness (to prepare data, or to run a library-level
 * scenario). Only while no server holds an embedded store: the harness closes it before starting one.
 */
export async function withContext<T>(store: BenchStore, fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const config = loadConfig({ ...store.env, FLOWGUARD_LOG_LEVEL: 'warn' }, store.dir);
  const ctx = await createContext(config, { logger: createLogger('warn') });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}
