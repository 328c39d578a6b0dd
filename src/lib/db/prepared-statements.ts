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
 * Server-side prepared statements for the statements flowguard runs again and again. PostgreSQL parses and
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
 * pooler in transaction mode without prepared-statement support (PgBouncer before 1.21), turn this off.
 */
export function preparingPool(pool: pg.Pool, opts: { after?: number; max?: number } = {}): PostgresPool {
  const after = opts.after ?? 3;
  const max = opts.max ?? 256;
  /** Text → its name once named, or how often it has been seen until then; `false`: never name it. */
  const seen = new Map<string, string | number | false>();
  let named = 0;

  function nameOf(text: string, values: readonly unknown[]): string | undefined {
    const entry = seen.get(text);
    if (typeof entry === 'string') return entry;
    if (entry === false || values.length === 0 || named >= max || text.includes(PLAN_EACH_CALL))
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
  }

  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  function wrap(client: pg.PoolClient): PostgresPoolClient {
    let w = wrapped.get(client);
    if (w) return w;
    w = {
      query: ((textOrCursor: unknown, values?: readonly unknown[]) => {
        if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable);
        const params = values ?? [];
        const name = nameOf(textOrCursor, params);
        if (!name) return client.query(textOrCursor, params as unknown[]);
        return client
          .query({ name, text: textOrCursor, values: params as unknown[] })
          .catch((err: unknown) => {
            if ((err as { code?: string }).code === '0A000') seen.set(textOrCursor, false);
            throw err;
          });
      }) as unknown as PostgresPoolClient['query'],
      release: () => client.release(),
    };
    wrapped.set(client, w);
    return w;
  }

  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
