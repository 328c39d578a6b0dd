import { classify, PermanentError, RetryableError } from '../errors.js';

/**
 * Classify a pg/mysql2 failure and name the place (table or system), never a value: driver messages can
 * quote the offending value, so only codes survive.
 */

const MISSING_TABLE = new Set(['42P01', 'ER_NO_SUCH_TABLE', '3F000', 'ER_BAD_DB_ERROR']);
const MISSING_COLUMN = new Set(['42703', 'ER_BAD_FIELD_ERROR']);
const AUTH = new Set(['28P01', '28000', '42501', 'ER_ACCESS_DENIED_ERROR', 'ER_TABLEACCESS_DENIED_ERROR']);
const RETRYABLE = new Set([
  // PostgreSQL: statement timeout / cancel.
  '57014',
  // mysql2: client-side query timeout, a query on a connection that already failed.
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  // MariaDB max_statement_time, MySQL max_execution_time, a killed query.
  'ER_STATEMENT_TIMEOUT',
  'ER_QUERY_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
]);
const RETRYABLE_ERRNO = new Set([1969, 3024, 1317]);
/** pg reports connection-level failures as plain Errors without a code. */
const PG_CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended|ECONNRESET/i;

export function classifySql(err: unknown, where: string): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; severity?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && MISSING_TABLE.has(code)) return new PermanentError('sql_table_missing', `${where}: not found`);
  if (code && MISSING_COLUMN.has(code))
    return new PermanentError('sql_column_missing', `${where}: a column is missing`);
  if (code && AUTH.has(code)) return new PermanentError('sql_access_denied', `${where}: access denied`);
  if ((code && RETRYABLE.has(code)) || (typeof e?.errno === 'number' && RETRYABLE_ERRNO.has(e.errno)))
    return new RetryableError('sql_timeout', `${where}: statement timed out`);
  if (!code && typeof e?.message === 'string' && PG_CONNECTION_MESSAGE.test(e.message))
    return new RetryableError('sql_connection', `${where}: connection failed`);
  const c = classify(err);
  const Ctor = c instanceof RetryableError ? RetryableError : PermanentError;
  return new Ctor(c.code, `${where}: ${c.code}`);
}
