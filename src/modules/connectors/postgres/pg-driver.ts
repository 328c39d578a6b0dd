import pg from 'pg';
import type { ColumnInfo, SqlDriver, SqlExec, SqlTimeouts } from '../sql/sql-driver.js';
import { quoteWith, SQL_POOL_MAX } from '../sql/sql-driver.js';
import { classifySql } from '../sql/sql-errors.js';
import { PermanentError } from '../errors.js';

const quote = quoteWith('"');

function exec(c: pg.Pool | pg.PoolClient): SqlExec {
  return {
    async query(sql, params) {
      const r = await c.query(sql, params);
      return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? r.rows.length };
    },
  };
}

/**
 * node-postgres behind the SQL connector: a small pool, server-side statement and lock timeouts, and a
 * client-side read timeout, so a hung server fails (retryably) instead of hanging a worker.
 */
export function createPgDriver(url: string, t: SqlTimeouts): SqlDriver {
  const pool = new pg.Pool({
    connectionString: url,
    max: SQL_POOL_MAX,
    connectionTimeoutMillis: t.connectMs,
    idleTimeoutMillis: 10_000,
    statement_timeout: t.statementMs,
    lock_timeout: t.lockMs,
    query_timeout: t.queryMs,
    idle_in_transaction_session_timeout: t.queryMs * 2,
    application_name: 'flowguard-connector',
    keepAlive: true,
    allowExitOnIdle: true,
  });
  // An idle connection that dies (server restart, network cut) is dropped by the pool; the next query reconnects.
  pool.on('error', () => undefined);

  return {
    dialect: 'postgres',
    caseInsensitiveColumns: false,
    quote,
    // One array parameter; its element type is inferred from the column, so text, varchar and bigint all work.
    anyOf: (columnSql, values) => ({ sql: `${columnSql} = any($1)`, params: [values] }),
    ...exec(pool),
    async ping() {
      await pool.query('select 1');
    },
    async columns(table): Promise<ColumnInfo[] | undefined> {
      const reg = await pool.query<{ oid: string | null }>('select to_regclass($1)::oid as oid', [
        quote(table),
      ]);
      const oid = reg.rows[0]?.oid;
      if (!oid) return undefined;
      const r = await pool.query<{ name: string; not_null: boolean; indexed: boolean }>(
        `select a.attname as name, a.attnotnull as not_null,
                exists (select 1 from pg_index i where i.indrelid = a.attrelid and i.indkey[0] = a.attnum) as indexed
           from pg_attribute a
          where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped`,
        [oid],
      );
      return r.rows.map((c) => ({ name: c.name, notNull: c.not_null, indexedFirst: c.indexed }));
    },
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client has no pool listener: a connection lost mid-transaction must not be uncaught.
      const lost = () => undefined;
      client.on('error', lost);
      const release = (destroy?: true) => {
        if (!destroy) client.off('error', lost); // a destroyed client keeps it: its socket may still report
        client.release(destroy);
      };
      try {
        await client.query('begin');
        const out = await fn(exec(client));
        await client.query('commit');
        release();
        return out;
      } catch (err) {
        // A server-side error leaves a healthy connection: roll back and reuse it. Anything else (timeout,
        // lost connection): drop the connection; the server rolls the transaction back when it goes.
        const healthy = classifySql(err, 'tx') instanceof PermanentError;
        const rolledBack =
          healthy &&
          (await client.query('rollback').then(
            () => true,
            () => false,
          ));
        release(rolledBack ? undefined : true);
        throw err;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
