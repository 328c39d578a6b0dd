import { PermanentError } from '../errors.js';
import type { EraseOutcome, ExportedRecords, Located, SubjectIdentifiers } from '../port.js';

/**
 * The http connector's wire format (documented for receivers in ./README.md).
 * Request: `{request_id, system_id, action, identifiers: {e164, digits, bsuid}, callback_url?, timestamp}`.
 * Answers: locate/verify `{count}` or `{counts: {place: n}}`; export `{records: [...]}`; erase
 * `{status: 'done', counts: {place: n}, retained?: [{where, count, reason}]}` at once, or 202
 * `{status: 'accepted'}` and a signed confirmation (same shape as `done`, plus request_id, system_id and
 * timestamp) to callback_url later. Place names are checked: they end up in the proof of erasure, so they
 * must look like names (no long digit runs that could be a phone number).
 */

export type HttpAction = 'locate' | 'export' | 'erase' | 'verify';

export const RECEIVER = 'receiver';

export function requestBody(input: {
  requestId: string | null;
  systemId: string;
  action: HttpAction;
  ids: SubjectIdentifiers;
  callbackUrl?: string | undefined;
  timestamp: number;
}): string {
  return JSON.stringify({
    request_id: input.requestId,
    system_id: input.systemId,
    action: input.action,
    identifiers: { e164: input.ids.e164, digits: input.ids.digits, bsuid: input.ids.bsuid },
    ...(input.callbackUrl ? { callback_url: input.callbackUrl } : {}),
    timestamp: input.timestamp,
  });
}

const PLACE = /^(?!.*\d{6})[A-Za-z0-9_.:/ -]{1,100}$/;

function bad(what: string): never {
  throw new PermanentError('http_bad_response', `receiver answer is not valid: ${what}`);
}

function place(name: unknown): string {
  if (typeof name !== 'string' || !PLACE.test(name)) bad('place name');
  return name;
}

function count(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) bad('count');
  return n;
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('not a JSON object');
  return body as Record<string, unknown>;
}

function counts(value: unknown): [string, number][] {
  return Object.entries(object(value)).map(([k, v]) => [place(k), count(v)]);
}

export function parseLocated(body: unknown): Located[] {
  const b = object(body);
  if (b.counts !== undefined) return counts(b.counts).map(([where, n]) => ({ where, count: n }));
  return [{ where: RECEIVER, count: count(b.count) }];
}

export function parseExport(body: unknown, category: string): ExportedRecords[] {
  const b = object(body);
  if (!Array.isArray(b.records)) bad('records');
  const records = b.records.map((r) => object(r));
  return [{ where: RECEIVER, category, records }];
}

/** `{status: 'done', counts, retained?}` → outcomes; also the body of a later confirmation. */
export function parseDone(body: unknown): EraseOutcome[] {
  const b = object(body);
  if (b.status !== 'done') bad('status');
  const deleted: EraseOutcome[] = counts(b.counts ?? {}).map(([where, n]) => ({
    where,
    action: 'deleted',
    count: n,
  }));
  const retained: EraseOutcome[] = (Array.isArray(b.retained) ? b.retained : []).map((r) => {
    const o = object(r);
    const reason = o.reason;
    if (typeof reason !== 'string' || reason.length < 3 || reason.length > 500 || /\d{6}/.test(reason))
      bad('retained reason');
    return { where: place(o.where), action: 'retained', count: count(o.count), reason };
  });
  const all = [...deleted, ...retained];
  return all.length ? all : [{ where: RECEIVER, action: 'deleted', count: 0 }];
}
