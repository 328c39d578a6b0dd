import type { SystemSpec } from '../../../config/datamap.js';
import { PermanentError } from '../errors.js';

/**
 * What the shared SQL connector needs from a database client (pg, mysql2). Identifier values only ever travel
 * as bound parameters; table and column names come from the validated data map and are checked again and
 * quoted here.
 */

export type SqlSpec = Extract<SystemSpec, { type: 'postgres' | 'mysql' }>;

export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows returned, or rows changed by DELETE/UPDATE. */
  rowCount: number;
}

export interface SqlExec {
  query(sql: string, params: unknown[]): Promise<SqlResult>;
}

export interface ColumnInfo {
  name: string;
  notNull: boolean;
  /** Some index has this column first (usable for `column = value` lookups). */
  indexedFirst: boolean;
}

export interface SqlDriver extends SqlExec {
  readonly dialect: 'postgres' | 'mysql';
  /** MySQL compares column names case-insensitively; PostgreSQL's quoted names are exact. */
  readonly caseInsensitiveColumns: boolean;
  /** Quote a column or a (schema-qualified) table name. */
  quote(name: string): string;
  /** `column` equals one of `values` (non-empty), as SQL text and its parameters. */
  anyOf(columnSql: string, values: string[]): { sql: string; params: unknown[] };
  ping(): Promise<void>;
  /** The table's columns, or undefined when there is no such table. */
  columns(table: string): Promise<ColumnInfo[] | undefined>;
  /** One transaction on one connection: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExec) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Client timeouts: connecting, one statement on the server, and the client's own wait for an answer. */
export interface SqlTimeouts {
  connectMs: number;
  statementMs: number;
  /** Client-side: a server that stops answering fails after this (a little above statementMs). */
  queryMs: number;
  lockMs: number;
}

export const DEFAULT_SQL_TIMEOUTS: SqlTimeouts = {
  connectMs: 5_000,
  statementMs: 30_000,
  queryMs: 35_000,
  lockMs: 10_000,
};

/** Connections per system: erasures run one transaction at a time per job, so a few are plenty. */
export const SQL_POOL_MAX = 3;

const PLAIN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Split `schema.table` and check each part is a plain identifier (the data map allows nothing else). */
export function nameParts(name: string): string[] {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => PLAIN.test(p))) {
    throw new PermanentError('sql_bad_identifier', 'a table or column name is not a plain SQL identifier');
  }
  return parts;
}

export function quoteWith(q: '"' | '`') {
  return (name: string): string =>
    nameParts(name)
      .map((p) => q + p + q)
      .join('.');
}

/** Values a client library returned, made JSON-safe for an access export. */
export function plainValue(v: unknown): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (typeof v === 'bigint') return v.toString();
  return v;
}
