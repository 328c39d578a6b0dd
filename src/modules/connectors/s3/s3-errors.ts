import { classify, classifyStatus, PermanentError, RetryableError } from '../errors.js';

/** S3 error codes that a later attempt can get past (throttling, server trouble, an idle socket). */
const RETRYABLE_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'OperationAborted',
]);

const codeName = (code: string) => `s3_${code.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}`.slice(0, 60);

/** An S3 error code (from a response or a DeleteObjects per-key error) as Retryable/Permanent. */
export function s3CodeError(code: string, status?: number): RetryableError | PermanentError {
  if (code === 'NoSuchBucket' || (code === 'NotFound' && status === 404)) {
    return new PermanentError('s3_no_such_bucket', 'bucket not found');
  }
  if (RETRYABLE_CODES.has(code)) return new RetryableError(codeName(code));
  if (status !== undefined) {
    const c = classifyStatus(status, 's3');
    return c instanceof RetryableError
      ? new RetryableError(codeName(code))
      : new PermanentError(codeName(code));
  }
  return new PermanentError(codeName(code));
}

/**
 * Classify what the AWS SDK threw: a service response by its code and HTTP status (5xx/429 and throttling
 * retry, other 4xx — access denied, missing bucket — are permanent); no response at all (refused, reset,
 * timed out) retries. The SDK's message is dropped: it may quote an object key.
 */
export function s3Error(err: unknown): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  const e = err as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const code = typeof e?.Code === 'string' ? e.Code : typeof e?.name === 'string' ? e.name : 'error';
  if (status !== undefined) return s3CodeError(code, status);
  const c = classify(err);
  if (c instanceof RetryableError) return c;
  // No HTTP response: a socket that hung up without a code is still the network, not the request.
  if (
    /socket hang up|ECONNRESET|EPIPE|timed? ?out/i.test(String((err as Error | undefined)?.message ?? ''))
  ) {
    return new RetryableError('s3_unreachable');
  }
  return c;
}
