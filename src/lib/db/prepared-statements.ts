import crypto from 'node:crypto';
import { sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const PLAN_EACH_CALL = '/* plan each call */';

/**
 * Marks a statement that PostgreSQL must plan on every call (never named): `.modifyEnd(planEachCall)` on a query
 * builder, or anywhere in a `sql` text. A marked query nested in another statement marks that statement too.
 */
export const planEachCall = sql.raw(PLAN_EACH_CALL);

/**
 * The adapter between Kysely and a `pg` pool, which saves PostgreSQL work and round trips on the hot paths.
 *
 * A transaction's BEGIN is held back and handed to the client together with its first statement. The pool's
 * clients are made with `pipeline: true`, so the client writes the statement without waiting for BEGIN's answer:
 * one round trip less per transaction. A transaction that runs no statement sends nothing at all. (A client
 * without pipelining still sends the two one after the other, as before.)
 *
 * Statements flowguard runs again and again become server-side prepared statements. PostgreSQL parses and
 * plans an unnamed statement on every call; a named one is parsed once per connection and, after a few
 * executions, runs a cached generic plan. For the hot paths (a Flows INIT, a webhook, an erasure) that is most
 * of PostgreSQL's CPU per statement.
 *
 * Kysely's statements are parameterised, so their text repeats exactly. A text is named once it has been seen
 * `after` times (one-off statements stay unnamed), up to `max` names per process (each connection keeps what
 * it has parsed, so the server-side cost is bounded too). The name is a hash of the text, the same on every
 * connection and instance. Statements without parameters (BEGIN, COMMIT, DDL) are never named.
 *
 * A named statement's cached generic plan is chosen once, from the table sizes and statistics of that moment,
 * and kept for the life of the connection until the table is analyzed. A lookup first run while its table was
 * nearly empty can keep a plan that reads the whole table (a bitmap scan on the tenant alone, the blind index
 * left to a filter) long after the table has grown. Statements whose plan must follow the table hold
 * `planEachCall` and are never named: PostgreSQL plans them on every call, for that call's values.
 *
 * A migration that changes a table's columns makes PostgreSQL refuse a prepared `select *` over it ("cached
 * plan must not change result type"); that statement fails once and its text is never named again. Behind a
 * pooler in transaction mode without prepared-statement support (PgBouncer before 1.21), turn naming off
 * (`name: false`).
 */
export function preparingPool(
  pool: pg.Pool,
  opts: { after?: number; max?: number; name?: boolean } = {},
): PostgresPool {
  const names = statementNamer(opts);

  function run(client: pg.PoolClient, text: string, values: readonly unknown[]): Promise<pg.QueryResult> {
    const name = names.nameOf(text, values);
    if (!name) return client.query(text, values as unknown[]);
    return client.query({ name, text, values: values as unknown[] }).catch((err: unknown) => {
      if ((err as { code?: string }).code === '0A000') names.refuse(text);
      throw err;
    });
  }

  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  function wrap(client: pg.PoolClient): PostgresPoolClient {
    let w = wrapped.get(client);
    if (w) return w;
    /** The transaction's BEGIN, held back until its first statement (see above). */
    let begin: string | undefined;
    w = {
      query: ((textOrCursor: unknown, values?: readonly unknown[]) => {
        if (typeof textOrCursor !== 'string') {
          // A cursor (Kysely's `.stream()`) is handed over as it is, BEGIN written first; a pipelining client
          // refuses cursors with its own error, and flowguard streams nothing from this pool.
          if (begin !== undefined) void client.query(begin).catch(() => undefined);
          begin = undefined;
          return client.query(textOrCursor as pg.Submittable);
        }
        const params = values ?? [];
        if (params.length === 0) {
          const command = transactionCommand(textOrCursor);
          if (command === 'BEGIN' && begin === undefined) {
            begin = textOrCursor;
            return Promise.resolve(emptyResult(command));
          }
          if ((command === 'COMMIT' || command === 'ROLLBACK') && begin !== undefined) {
            // A transaction that ran no statement: nothing was sent, nothing to end.
            begin = undefined;
            return Promise.resolve(emptyResult(command));
          }
        }
        if (begin === undefined) return run(client, textOrCursor, params);
        // BEGIN and the first statement in one round trip (the client pipelines). Every state in which BEGIN
        // fails (a lost connection, an aborted transaction left open) fails the statement behind it too, so the
        // statement never runs outside the transaction; BEGIN's error is the one reported.
        const held = client.query(begin);
        begin = undefined;
        const first = run(client, textOrCursor, params);
        return held.then(
          () => first,
          (err: unknown) => {
            first.catch(() => undefined);
            throw err;
          },
        );
      }) as unknown as PostgresPoolClient['query'],
      release: () => {
        begin = undefined;
        client.release();
      },
    };
    wrapped.set(client, w);
    return w;
  }

  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}

/**
 * Which statements get a name (the policy above, for PostgreSQL and the embedded store alike): a parameterised
 * text from its `after`th run on, up to `max` names, never one that holds `planEachCall`. `refuse`: never name
 * this text again (its prepared form failed).
 */
export function statementNamer(opts: { after?: number; max?: number; name?: boolean } = {}) {
  const after = opts.after ?? 3;
  const max = opts.max ?? 256;
  /** Text → its name once named, or how often it has been seen until then; `false`: never name it. */
  const seen = new Map<string, string | number | false>();
  let named = 0;
  return {
    nameOf(text: string, values: readonly unknown[]): string | undefined {
      const entry = seen.get(text);
      if (typeof entry === 'string') return entry;
      if (
        opts.name === false ||
        entry === false ||
        values.length === 0 ||
        named >= max ||
        text.includes(PLAN_EACH_CALL)
      )
        return undefined;
      const count = (entry ?? 0) + 1;
      if (count < after) {
        // Bound the counting too: a flood of distinct one-off texts must not grow the map without end.
        if (entry !== undefined || seen.size < max * 16) seen.set(text, count);
        return undefined;
      }
      const name = `fg_${crypto.createHash('sha256').update(text).digest('base64url').slice(0, 40)}`;
      seen.set(text, name);
      named++;
      return name;
    },
    refuse(text: string): void {
      seen.set(text, false);
    },
  };
}

/**
 * BEGIN / START TRANSACTION, COMMIT / END, ROLLBACK / ABORT, each alone as Kysely sends them (a text with more
 * than one statement is none of these).
 */
function transactionCommand(text: string): 'BEGIN' | 'COMMIT' | 'ROLLBACK' | undefined {
  const t = text.trim().toLowerCase();
  if (t.includes(';')) return undefined;
  if (t === 'begin' || t.startsWith('begin ') || t.startsWith('start transaction')) return 'BEGIN';
  if (t === 'commit' || t === 'end') return 'COMMIT';
  if (t === 'rollback' || t === 'abort') return 'ROLLBACK';
  return undefined;
}

function emptyResult(command: string): pg.QueryResult {
  return { command, rowCount: null, rows: [], oid: 0, fields: [] };
}
