import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

/**
 * flowguard's logs must never carry personal data. Two layers: known personal fields are redacted by path,
 * and every string that reaches the log is scrubbed of phone-like numbers, BSUIDs and wamids.
 */

const REDACT_PATHS = [
  '*.phone',
  '*.wa_id',
  '*.from',
  '*.user_id',
  '*.name',
  '*.profile',
  '*.body',
  '*.text',
  '*.caption',
  '*.response_json',
  '*.flow_token',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
];

/** `+CC`, `00CC`, `(555)`, `(+1)` and digits separated by spaces, dashes, dots or parentheses. */
const PHONE_LIKE = /(?:\+|\(\+?)?\d[\d\s().-]{6,}\d/g;
const BSUID_LIKE = /\b[A-Z]{2}\.[A-Za-z0-9]{6,128}\b/g;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}(:\d{2}(:\d{2})?)?)?$/;
const WAMID_LIKE = /\bwamid\.[A-Za-z0-9_=+/-]+/g;
/** UUIDs (request, subject, key ids) are not personal data: kept whole, never read as a phone number. */
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

function scrubPart(text: string): string {
  return text
    .replace(WAMID_LIKE, 'wamid.[redacted]')
    .replace(BSUID_LIKE, '[bsuid]')
    .replace(PHONE_LIKE, (m) => (m.replace(/\D/g, '').length >= 7 && !ISO_DATE.test(m) ? '[phone]' : m));
}

/** Replace anything that looks like a phone number, BSUID or message id in free text. */
export function scrub(text: string): string {
  let out = '';
  let at = 0;
  for (const m of text.matchAll(UUID)) {
    out += scrubPart(text.slice(at, m.index)) + m[0];
    at = m.index + m[0].length;
  }
  return out + scrubPart(text.slice(at));
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrub(value.message),
      stack: value.stack ? scrub(value.stack) : undefined,
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'flowguard' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { log: (obj) => scrubDeep(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>,
          );
        },
      },
      serializers: {
        err: (err: Error) => scrubDeep(err),
        req: (req: { method: string; url: string; routeOptions?: { url?: string } }) => ({
          method: req.method,
          route: req.routeOptions?.url ?? scrub(req.url.split('?')[0] ?? ''),
        }),
      },
    },
    destination,
  );
}

export type { Logger };
