import { PermanentError, RetryableError, classify, parseRetryAfter } from '../errors.js';

/**
 * A minimal HubSpot API client: JSON POSTs with the private-app token as a bearer token. Failures are
 * classified here (HubSpot's error handling page: 401 bad token, 403 missing scope, 429 rate limit, 5xx):
 * 401/403 and other 4xx are permanent, 429 and 5xx retry. HubSpot's error bodies can echo request values
 * (our filters hold phone numbers), so only the status and HubSpot's error `category` enum are kept.
 */

export interface HubSpotResponse {
  status: number;
  body: unknown;
  retryAfter: string | null;
}

export interface HubSpotClient {
  post(path: string, body: unknown): Promise<HubSpotResponse>;
}

const REQUEST_TIMEOUT_MS = 30_000;

export function createHubSpotClient(spec: { baseUrl: string; token: string }): HubSpotClient {
  const base = spec.baseUrl.replace(/\/+$/, '');
  return {
    async post(path, body) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${spec.token}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        throw classifyFetchError(err);
      }
      const text = await res.text().catch(() => '');
      let parsed: unknown = undefined;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
    },
  };
}

function classifyFetchError(err: unknown): RetryableError | PermanentError {
  const c = classify(err);
  // undici wraps socket failures as `TypeError: fetch failed` with the cause carrying the code.
  if (c instanceof PermanentError && err instanceof TypeError && err.message === 'fetch failed') {
    return new RetryableError('hubspot_unreachable');
  }
  return c;
}

/** Throw the classified error for a non-success answer; `ok` lists the statuses the caller handles itself. */
export function assertOk(res: HubSpotResponse, what: string, ok: number[]): void {
  if (ok.includes(res.status)) return;
  const category = categoryOf(res.body);
  const code = `hubspot_${what}_http_${res.status}`;
  const suffix = category ? ` (${category})` : '';
  if (res.status === 401 || res.status === 403) {
    throw new PermanentError(code, `hubspot rejected the token for ${what}: ${res.status}${suffix}`);
  }
  // Retry-After (on a 429, or a 503) holds the job's next attempt back at least that long.
  const after = parseRetryAfter(res.retryAfter);
  if (res.status === 429) {
    throw new RetryableError(
      code,
      `hubspot rate limit on ${what}${suffix}${after !== undefined ? `; retry after ${after}s` : ''}`,
      { retryAfterSeconds: after },
    );
  }
  if (res.status === 408 || res.status >= 500) {
    throw new RetryableError(code, `hubspot ${what} failed: ${res.status}${suffix}`, {
      retryAfterSeconds: after,
    });
  }
  throw new PermanentError(code, `hubspot ${what} failed: ${res.status}${suffix}`);
}

/** HubSpot's `category` is an enum such as RATE_LIMITS or VALIDATION_ERROR; anything else is dropped. */
function categoryOf(body: unknown): string | undefined {
  const c = (body as { category?: unknown } | undefined)?.category;
  return typeof c === 'string' && /^[A-Z_]{1,40}$/.test(c) ? c : undefined;
}
