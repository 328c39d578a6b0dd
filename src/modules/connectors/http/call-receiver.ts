import { PermanentError, RetryableError, classify, classifyStatus } from '../errors.js';
import type { HttpAction } from './protocol.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from './signature.js';

/**
 * One signed POST to the business's receiver. Timeouts and connection failures retry; 408/429/5xx retry
 * (not before the answer's Retry-After); other 4xx (bad signature, unknown action) are permanent. The
 * receiver's answer body is returned parsed; error bodies are ignored (they could echo what we sent).
 */
export async function callReceiver(
  spec: { url: string; secret: string; timeoutMs: number },
  action: HttpAction,
  body: string,
  timestamp: number,
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(spec.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        [SIGNATURE_HEADER]: signBody(spec.secret, body),
        [TIMESTAMP_HEADER]: String(timestamp),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(spec.timeoutMs),
    });
  } catch (err) {
    throw fetchError(err, action);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw fetchError(err, action);
  }
  if (res.status !== 200 && res.status !== 202) {
    throw classifyStatus(res.status, `http_${action}`, res.headers.get('retry-after'));
  }
  try {
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch {
    throw new PermanentError('http_bad_response', `receiver answer to ${action} is not JSON`);
  }
}

function fetchError(err: unknown, action: HttpAction): RetryableError | PermanentError {
  const e = err as { name?: string; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new RetryableError('http_timeout', `receiver did not answer ${action} in time`);
  }
  const c = classify(err);
  // undici reports socket failures as `TypeError: fetch failed` with the cause holding the code.
  if (c instanceof PermanentError && err instanceof TypeError && e.message === 'fetch failed') {
    return new RetryableError('http_unreachable', `receiver unreachable for ${action}`);
  }
  return c;
}
