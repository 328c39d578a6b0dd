import { describe, expect, it } from 'vitest';
import { classifyStatus, parseRetryAfter, PermanentError, RetryableError } from './errors.js';

describe('Retry-After on retryable HTTP answers', () => {
  const now = Date.parse('2026-03-02T10:00:00Z');

  it('reads delay-seconds and HTTP dates, and nothing else', () => {
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:00:00 GMT', now)).toBe(0);
    for (const bad of [null, undefined, '', 'soon', '-5', '1.5', '99999999999']) {
      expect(parseRetryAfter(bad, now)).toBeUndefined();
    }
  });

  it('carries the wait on 429 and 5xx errors, never on permanent ones', () => {
    const limited = classifyStatus(429, 'http_erase', '12');
    expect(limited).toBeInstanceOf(RetryableError);
    expect(limited).toMatchObject({ code: 'http_erase_http_429', retryAfterSeconds: 12 });
    expect(classifyStatus(503, 'http_erase', '3')).toMatchObject({ retryAfterSeconds: 3 });
    expect(classifyStatus(500, 'http_erase')).toMatchObject({ retryAfterSeconds: undefined });
    const refused = classifyStatus(400, 'http_erase', '12');
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused).not.toHaveProperty('retryAfterSeconds');
  });
});
