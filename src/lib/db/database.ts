import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { AppError } from '../errors.js';
import { acquirePidLock, pidLockHolder } from '../pid-lock.js';
import { PGliteDialect, SessionLock, pgliteRunner } from './pglite-dialect.js';
import { preparingPool } from './prepared-statements.js';
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
  /**
   * LISTEN on a channel: `onNotify` gets each NOTIFY payload, delivered when the notifying transaction commits.
   * Best effort (a lost connection is re-established; notifications sent meanwhile are lost): callers must
   * also poll. `onListening` is called each time listening (re)starts, so a caller can catch up on what it may
   * have missed. Returns the function that stops listening.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onListening?: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * PostgreSQL: hold the session-level advisory lock (namespace, key) on a connection of its own for as long as
   * this process lives (taken again after a lost connection): others learn the process is gone when they can
   * take it. Returns the function that lets it go.
   */
  holdLock?(namespace: number, key: number): Promise<() => Promise<void>>;
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
  /** Name the statements run again and again (see prepared-statements.ts, pglite-dialect.ts). Default true. */
  preparedStatements?: boolean | undefined;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, opts.poolSize ?? 10, opts.preparedStatements ?? true)
    : openEmbedded(opts);
}

async function openPostgres(url: string, max: number, prepare: boolean): Promise<Database> {
  // Pipelined clients: a transaction's BEGIN goes out with its first statement (see prepared-statements.ts).
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'flowguard', pipeline: true });
  // An idle client that loses its connection emits 'error'; the pool replaces it. Never crash on it.
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool: preparingPool(pool, { name: prepare }) }),
  });
  return {
    kind: 'postgres',
    db,
    sql: {
      async executeSql(text, values = []) {
        const r = await pool.query(text, values);
        return { rows: r.rows };
      },
    },
    listen: (channel, onNotify, onListening) => listenPostgres(url, channel, onNotify, onListening),
    holdLock: (namespace, key) =>
      keepSession(url, 'flowguard-instance', async (c) => {
        await c.query('select pg_advisory_lock($1, $2)', [namespace, key]);
      }),
    async close() {
      await db.destroy();
    },
  };
}

/**
 * A dedicated connection (a pooled one would be handed to queries) that `setup` prepares once connected,
 * connected again after a second when lost, and prepared again. Returns the function that closes it.
 */
async function keepSession(
  url: string,
  name: string,
  setup: (client: pg.Client) => Promise<void>,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: name, keepAlive: true });
    const reconnect = () => {
      c.removeAllListeners();
      c.on('error', () => undefined);
      void c.end().catch(() => undefined);
      if (client === c) client = undefined;
      if (!stopped && !retry) {
        retry = setTimeout(() => {
          retry = undefined;
          if (!stopped) connect().catch(reconnect);
        }, 1000);
        retry.unref();
      }
    };
    c.on('error', reconnect);
    c.on('end', reconnect);
    await c.connect();
    await setup(c);
    client = c;
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const c = client;
    client = undefined;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  };
}

/** LISTEN on a session of its own, re-established when lost. */
function listenPostgres(
  url: string,
  channel: string,
  onNotify: (payload: string) => void,
  onListening?: () => void,
): Promise<() => Promise<void>> {
  return keepSession(url, 'flowguard-listen', async (c) => {
    c.on('notification', (n) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    await c.query(`listen ${pg.escapeIdentifier(channel)}`);
    onListening?.();
  });
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
  const run = pgliteRunner(pglite, { name: opts.preparedStatements ?? true });
  const db = new Kysely<DB>({ dialect: new PGliteDialect(run, lock) });
  let closed = false;
  return {
    kind: 'pglite',
    db,
    sql: {
      executeSql: (text, values = []) => lock.run(async () => ({ rows: (await run(text, values)).rows })),
    },
    dump: () => lock.run(() => pglite.dumpDataDir('gzip')),
    // Under the session lock, so the LISTEN is not run inside another caller's open transaction.
    listen: async (channel, onNotify, onListening) => {
      const stop = await lock.run(() => pglite.listen(channel, onNotify));
      onListening?.();
      return () => (closed ? Promise.resolve() : lock.run(() => stop()));
    },
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

/** The pid holding the embedded store, or undefined when it is free (a stale lock is free: lib/pid-lock.ts). */
export function storeHolder(dataDir: string): number | undefined {
  return pidLockHolder(lockFilePath(dataDir));
}

function acquireDirLock(dataDir: string): () => void {
  return acquirePidLock(lockFilePath(dataDir), (holder) =>
    holder === undefined
      ? new AppError('STORE_LOCKED', {}, `cannot lock the embedded store in ${dataDir}`)
      : new AppError(
          'STORE_LOCKED',
          { pid: holder },
          `the embedded store in ${dataDir} is in use by process ${holder}`,
        ),
  );
}
