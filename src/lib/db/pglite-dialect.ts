import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import { statementNamer } from './prepared-statements.js';
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

/** Runs a statement on the embedded store: what the dialect's connection and `Database.sql` both call. */
export type PgliteRunner = (text: string, values: readonly unknown[]) => Promise<QueryResult<never>>;

type BackendMessage = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number];

/** A named statement of the session: its parameters' types and the description of its rows (none: no rows). */
interface Prepared {
  paramTypes: number[];
  rows: BackendMessage | undefined;
}

/**
 * Statements on the embedded store, named as on PostgreSQL (prepared-statements.ts: the same texts, from their
 * third run on). PGlite's `query` parses, plans and describes every statement each time it runs: for flowguard's
 * short statements that is most of their cost (a lookup by primary key 190 µs unnamed, 80 µs named). PGlite is one
 * session for the whole process, so a statement is parsed and described once and then only bound and run: one
 * call into the engine per run instead of six. The caller serialises all use of the session (SessionLock).
 *
 * A statement that fails to prepare is never named again, and its error is the caller's. One whose prepared
 * form PostgreSQL refuses after a migration changed its result type ("cached plan must not change result type",
 * 0A000) fails once, as on PostgreSQL, and runs unnamed from then on. `name: false` turns naming off.
 */
export function pgliteRunner(pg: PGlite, opts: { name?: boolean } = {}): PgliteRunner {
  const names = statementNamer(opts);
  const prepared = new Map<string, Prepared>();

  async function prepare(name: string, text: string): Promise<Prepared> {
    const { messages } = await pg.execProtocol(
      frames(
        protocol.serialize.parse({ name, text }),
        protocol.serialize.describe({ type: 'S', name }),
        protocol.serialize.sync(),
      ),
    );
    return {
      paramTypes: parse.parseDescribeStatementResults(messages),
      rows: messages.find((m) => m.name === 'rowDescription'),
    };
  }

  async function runNamed(name: string, text: string, values: readonly unknown[]) {
    let statement = prepared.get(name);
    if (!statement) {
      try {
        statement = await prepare(name, text);
      } catch (err) {
        names.refuse(text);
        throw err;
      }
      prepared.set(name, statement);
    }
    const { paramTypes, rows } = statement;
    // As PGlite's `query` serialises them: by each parameter's type, NULL for null and undefined.
    const serialized = values.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = pg.serializers[paramTypes[i]!];
      return serializer ? serializer(v) : String(v);
    });
    try {
      const { messages } = await pg.execProtocol(
        frames(
          protocol.serialize.bind({ statement: name, values: serialized }),
          protocol.serialize.execute({}),
          protocol.serialize.sync(),
        ),
      );
      return parse.parseResults(rows ? [rows, ...messages] : messages, pg.parsers)[0]!;
    } catch (err) {
      if ((err as { code?: string }).code === '0A000') {
        names.refuse(text);
        prepared.delete(name);
        // Freed so the name can never run the stale form; the statement's own error is what the caller gets.
        await pg
          .execProtocol(frames(protocol.serialize.close({ type: 'S', name }), protocol.serialize.sync()))
          .catch(() => undefined);
      }
      throw err;
    }
  }

  return async (text, values) => {
    if (values.length === 0 && /;\s*\S/.test(text)) {
      // Several statements (migrations): only the simple protocol runs them.
      const results = await pg.exec(text);
      return { rows: (results.at(-1)?.rows ?? []) as never[] };
    }
    const name = names.nameOf(text, values);
    const result = name
      ? await runNamed(name, text, values)
      : await pg.query(text, values as unknown[], { rowMode: 'object' });
    const affected = result.affectedRows ?? 0;
    return {
      rows: result.rows as never[],
      numAffectedRows: /^\s*(insert|update|delete|merge)/i.test(text) ? BigInt(affected) : undefined,
    };
  };
}

/** Protocol messages written as one input, so the engine handles them in one call. */
function frames(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly run: PgliteRunner) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.run(compiled.sql, compiled.parameters) as Promise<QueryResult<R>>;
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
    run: PgliteRunner,
    private readonly lock: SessionLock,
  ) {
    this.connection = new PGliteConnection(run);
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
    private readonly run: PgliteRunner,
    private readonly lock: SessionLock,
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.run, this.lock);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}
