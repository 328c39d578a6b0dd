/**
 * Connector failures, classified where they happen: RetryableError (timeouts, refused connections, 5xx,
 * 429, lock timeouts) is retried with backoff; PermanentError (bad credentials, missing table, 4xx) goes
 * to the dead-letter queue at once. Messages carry codes and names, never identifier values.
 */
export class RetryableError extends Error {
  /** The system asked to wait this long before the next try (HTTP Retry-After); the job runner honours it. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: string,
    message?: string,
    opts: { retryAfterSeconds?: number | undefined } = {},
  ) {
    super(message ?? code);
    this.name = 'RetryableError';
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export class PermanentError extends Error {
  constructor(
    readonly code: string,
    message?: string,
  ) {
    super(message ?? code);
    this.name = 'PermanentError';
  }
}

const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
]);

/** Classify an unknown error from a client library: network-level problems retry, everything else is permanent. */
export function classify(err: unknown): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  const e = err as { code?: unknown; name?: string; cause?: { code?: unknown }; message?: string };
  const code =
    typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  if (code && RETRYABLE_NODE_CODES.has(code)) return new RetryableError(code);
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new RetryableError('timeout');
  // PostgreSQL: connection exceptions (08xxx), serialization/deadlock (40001, 40P01), lock timeout, too many connections.
  if (code && /^(08|40001|40P01|55P03|53300|57P0)/.test(code)) return new RetryableError(`sql_${code}`);
  // MySQL/MariaDB: lock wait timeout, deadlock, too many connections, server gone.
  if (code && /^(ER_LOCK_WAIT_TIMEOUT|ER_LOCK_DEADLOCK|ER_CON_COUNT_ERROR|ER_SERVER_SHUTDOWN)$/.test(code)) {
    return new RetryableError(code.toLowerCase());
  }
  return new PermanentError(code ? `error_${code}`.toLowerCase().slice(0, 60) : 'error');
}

/** HTTP statuses: 408/425/429/5xx retry (after the answer's Retry-After, if any), other 4xx are permanent. */
export function classifyStatus(
  status: number,
  what: string,
  retryAfter?: string | null,
): RetryableError | PermanentError {
  if (isRetryableStatus(status)) {
    return new RetryableError(`${what}_http_${status}`, undefined, {
      retryAfterSeconds: parseRetryAfter(retryAfter),
    });
  }
  return new PermanentError(`${what}_http_${status}`);
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d{1,10}$/.test(value)) return Number(value);
  // An HTTP date starts with the day's name (IMF-fixdate, and the obsolete RFC 850 and asctime forms).
  const at = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
