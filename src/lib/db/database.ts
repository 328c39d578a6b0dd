import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { AppError } from '../errors.js';
import { PGliteDialect, SessionLock, pgliteQuery } from './pglite-dialect.js';
import type { DB } from './schema.js';

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Either the pool-level handle or an open transaction: repositories accept both. */
export type Executor = Kysely<DB>;

/** The shape pg-boss accepts as `db`: run one statement with positional parameters. */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Db;
  /** Shared executor for pg-boss and raw SQL outside of Kysely. */
  readonly sql: SqlExecutor;
  /** Embedded store only: a gzipped tarball of the data dir (tests load it as a template; backups). */
  dump?: () => Promise<Blob>;
  close(): Promise<void>;
}

export function executorFor(tx: Kysely<DB>): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const result = await tx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

export interface OpenOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  /** For tests: start the embedded store from a dumped data dir (tar.gz) instead of creating it. */
  loadDataDir?: Blob | undefined;
  /** For tests and tooling: an in-memory embedded store. */
  inMemory?: boolean | undefined;
  poolSize?: number | undefined;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10) : openEmbedded(opts);
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'flowguard' });
  // An idle client that loses its connection emits 'error'; the pool replaces it. Never crash on it.
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    db,
    sql: {
      async executeSql(text, values = []) {
        const r = await pool.query(text, values);
        return { rows: r.rows };
      },
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * The embedded store is one PGlite data dir. PGlite itself does not stop a second process from opening the
 * same files (which would corrupt them), so flowguard holds `store.lock` with its pid while the store is open.
 */
async function openEmbedded(opts: OpenOptions): Promise<Database> {
  let releaseDirLock = () => {};
  let pglite: PGlite;
  if (opts.inMemory || opts.loadDataDir) {
    pglite = await PGlite.create(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  } else {
    const dir = path.join(opts.dataDir, 'pgdata');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    releaseDirLock = acquireDirLock(opts.dataDir);
    try {
      pglite = await PGlite.create(dir);
    } catch (err) {
      releaseDirLock();
      throw err;
    }
  }
  const lock = new SessionLock();
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite, lock) });
  let closed = false;
  return {
    kind: 'pglite',
    db,
    sql: {
      executeSql: (text, values = []) =>
        lock.run(async () => ({ rows: (await pgliteQuery(pglite, text, values)).rows })),
    },
    dump: () => lock.run(() => pglite.dumpDataDir('gzip')),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      await lock.run(() => pglite.close());
      releaseDirLock();
    },
  };
}

export function lockFilePath(dataDir: string): string {
  return path.join(dataDir, 'store.lock');
}

/** The pid holding the embedded store, or undefined when it is free (a stale lock of a dead process is free). */
export function storeHolder(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lockFilePath(dataDir), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    if (pid === process.pid) return pid;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function acquireDirLock(dataDir: string): () => void {
  const file = lockFilePath(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = storeHolder(dataDir);
      if (holder !== undefined) {
        throw new AppError(
          'STORE_LOCKED',
          { pid: holder },
          `the embedded store in ${dataDir} is in use by process ${holder}`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new AppError('STORE_LOCKED', {}, `cannot lock the embedded store in ${dataDir}`);
}
