import mysql from 'mysql2/promise';
import type { ColumnInfo, SqlDriver, SqlExec, SqlTimeouts } from '../sql/sql-driver.js';
import { nameParts, quoteWith, SQL_POOL_MAX } from '../sql/sql-driver.js';
import { classifySql } from '../sql/sql-errors.js';
import { PermanentError } from '../errors.js';

const quote = quoteWith('`');

type Queryable = Pick<mysql.Pool, 'execute'> | Pick<mysql.PoolConnection, 'execute'>;

function exec(c: Queryable, t: SqlTimeouts): SqlExec {
  return {
    async query(sql, params) {
      // execute(): a server-side prepared statement, values bound, never spliced into the text.
      const [res] = await c.execute({ sql, values: params, timeout: t.queryMs });
      if (Array.isArray(res)) return { rows: res as Record<string, unknown>[], rowCount: res.length };
      return { rows: [], rowCount: (res as mysql.ResultSetHeader).affectedRows };
    },
  };
}

/**
 * mysql2 behind the SQL connector (MySQL and MariaDB): a small pool, connect timeout, per-session lock and
 * statement limits, and a client-side query timeout, so a hung server fails retryably instead of hanging.
 */
export function createMysqlDriver(url: string, t: SqlTimeouts): SqlDriver {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: SQL_POOL_MAX,
    maxIdle: SQL_POOL_MAX,
    idleTimeout: 10_000,
    connectTimeout: t.connectMs,
    enableKeepAlive: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
  });
  const lockS = Math.max(1, Math.ceil(t.lockMs / 1000));
  // The core (callback) pool's event: its connection is the callback API, so errors go to `ignore`.
  pool.pool.on('connection', (conn) => {
    const ignore = () => undefined;
    conn.query(`set session innodb_lock_wait_timeout = ${lockS}`, ignore);
    // MariaDB (seconds, every statement) and MySQL (milliseconds, SELECT only); each ignores the other's.
    conn.query(`set session max_statement_time = ${t.statementMs / 1000}`, ignore);
    conn.query(`set session max_execution_time = ${Math.round(t.statementMs)}`, ignore);
  });

  return {
    dialect: 'mysql',
    caseInsensitiveColumns: true,
    quote,
    anyOf: (columnSql, values) => ({
      sql: `${columnSql} in (${values.map(() => '?').join(', ')})`,
      params: values,
    }),
    ...exec(pool, t),
    async ping() {
      await pool.query({ sql: 'select 1', timeout: t.queryMs });
    },
    async columns(table): Promise<ColumnInfo[] | undefined> {
      const parts = nameParts(table);
      const [schema, name] = parts.length === 2 ? parts : [null, parts[0]];
      const [rows] = await pool.query({
        sql: `select c.COLUMN_NAME as name, c.IS_NULLABLE = 'NO' as not_null,
                     exists (select 1 from information_schema.STATISTICS s
                              where s.TABLE_SCHEMA = c.TABLE_SCHEMA and s.TABLE_NAME = c.TABLE_NAME
                                and s.COLUMN_NAME = c.COLUMN_NAME and s.SEQ_IN_INDEX = 1) as indexed
                from information_schema.COLUMNS c
               where c.TABLE_SCHEMA = coalesce(?, database()) and c.TABLE_NAME = ?`,
        values: [schema, name],
        timeout: t.queryMs,
      });
      const list = rows as { name: string; not_null: number; indexed: number }[];
      if (!list.length) return undefined;
      return list.map((c) => ({
        name: c.name,
        notNull: !!Number(c.not_null),
        indexedFirst: !!Number(c.indexed),
      }));
    },
    async transaction(fn) {
      const conn = await pool.getConnection();
      // Not beginTransaction()/commit(): those take no timeout, and a hung server must fail, not hang.
      const control = (sql: string) => conn.query({ sql, timeout: t.queryMs });
      try {
        await control('start transaction');
        const out = await fn(exec(conn, t));
        await control('commit');
        conn.release();
        return out;
      } catch (err) {
        // A server-side error leaves a healthy connection: roll back and reuse it. Anything else: drop it (the
        // server rolls back when the connection goes).
        const healthy = classifySql(err, 'tx') instanceof PermanentError;
        if (
          healthy &&
          (await control('rollback').then(
            () => true,
            () => false,
          ))
        )
          conn.release();
        else conn.destroy();
        throw err;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
