import { classify, classifyStatus, PermanentError, RetryableError } from '../errors.js';

const codeName = (code: string) => `azure_${code.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}`.slice(0, 60);

/**
 * Classify what @azure/storage-blob threw (a RestError): with an HTTP status, 408/429/5xx retry and other 4xx
 * (authentication failed, container not found, blob leased) are permanent; without one (refused, reset, the
 * per-try timeout) it retries. The SDK's message is dropped: it may quote a blob name.
 */
export function azureError(err: unknown): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  const e = err as
    { name?: unknown; statusCode?: unknown; code?: unknown; details?: { errorCode?: unknown } } | undefined;
  const code =
    typeof e?.details?.errorCode === 'string'
      ? e.details.errorCode
      : typeof e?.code === 'string'
        ? e.code
        : undefined;
  if (typeof e?.statusCode === 'number') {
    if (code === 'ContainerNotFound' || (e.statusCode === 404 && !code)) {
      return new PermanentError('azure_container_not_found', 'container not found');
    }
    const c = classifyStatus(e.statusCode, 'azure');
    if (!code) return c;
    return c instanceof RetryableError
      ? new RetryableError(codeName(code))
      : new PermanentError(codeName(code));
  }
  const c = classify(err);
  if (c instanceof RetryableError) return c;
  if (
    code === 'REQUEST_SEND_ERROR' ||
    /socket hang up|ECONNRESET|aborted|timed? ?out/i.test(messageOf(err))
  ) {
    return new RetryableError('azure_unreachable');
  }
  return c;
}

function messageOf(err: unknown): string {
  return String((err as Error | undefined)?.message ?? '');
}
