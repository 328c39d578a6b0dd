import type { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/**
 * Kysely dialect for PGlite. PGlite is a single Postgres session, so connections are handed out one at a
 * time through a FIFO lock: a transaction owns the session from BEGIN to COMMIT, and nothing else (pg-boss
 * polling included) can slip a statement into it.
 */

export class SessionLock {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export async function pgliteQuery(
  pg: PGlite,
  text: string,
  values: readonly unknown[],
): Promise<QueryResult<never>> {
  if (values.length === 0 && /;\s*\S/.test(text)) {
    // Several statements (migrations): only the simple protocol runs them.
    const results = await pg.exec(text);
    return { rows: (results.at(-1)?.rows ?? []) as never[] };
  }
  const result = await pg.query(text, values as unknown[], { rowMode: 'object' });
  const affected = result.affectedRows ?? 0;
  return {
    rows: result.rows as never[],
    numAffectedRows: /^\s*(insert|update|delete|merge)/i.test(text) ? BigInt(affected) : undefined,
  };
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pg: PGlite) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return pgliteQuery(this.pg, compiled.sql, compiled.parameters) as Promise<QueryResult<R>>;
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on the embedded store');
  }
}

class PGliteDriver implements Driver {
  private readonly releases = new WeakMap<DatabaseConnection, () => void>();
  private readonly connection: PGliteConnection;

  constructor(
    pg: PGlite,
    private readonly lock: SessionLock,
  ) {
    this.connection = new PGliteConnection(pg);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.lock.acquire();
    // One PGlite session means one connection object; remember how to release this hand-out.
    const handle = Object.create(this.connection) as PGliteConnection;
    this.releases.set(handle, release);
    return handle;
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const level = settings.isolationLevel ? ` isolation level ${settings.isolationLevel}` : '';
    await conn.executeQuery(CompiledQuery.raw(`begin${level}`));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    const release = this.releases.get(conn);
    this.releases.delete(conn);
    release?.();
  }

  async destroy(): Promise<void> {}
}

export class PGliteDialect implements Dialect {
  constructor(
    private readonly pg: PGlite,
    private readonly lock: SessionLock,
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pg, this.lock);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}
