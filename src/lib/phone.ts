import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Identity formats. WhatsApp sends `wa_id` as digits with the country code and no `+`; flowguard stores E.164.
 * A business-scoped user id (BSUID) is `CC.` followed by up to 128 alphanumerics.
 */

const BSUID = /^[A-Z]{2}\.[A-Za-z0-9]{1,128}$/;

export function isBsuid(value: string): boolean {
  return BSUID.test(value);
}

/** The answers toE164 gave inside the current withPhoneMemo (none outside one). */
let memo: Map<string, string | undefined> | undefined;

/**
 * Run `fn` (synchronous) with toE164 answering each distinct input once: one webhook delivery names the same
 * person in its contact card, each of their messages and statuses, and libphonenumber is a sizeable share of
 * parsing it. Nothing is kept after `fn` returns.
 */
export function withPhoneMemo<T>(fn: () => T): T {
  if (memo) return fn();
  memo = new Map();
  try {
    return fn();
  } finally {
    memo = undefined;
  }
}

/** Normalise a phone number (wa_id digits, +E.164, or formatted) to E.164; undefined when it is not one. */
export function toE164(raw: string): string | undefined {
  if (typeof raw !== 'string' || raw.length > 32) return undefined;
  if (!memo) return normalise(raw);
  if (memo.has(raw)) return memo.get(raw);
  const e164 = normalise(raw);
  memo.set(raw, e164);
  return e164;
}

function normalise(raw: string): string | undefined {
  const trimmed = raw.trim();
  const digits = trimmed.replace(/[\s().-]/g, '');
  if (!/^\+?\d{6,15}$/.test(digits)) return undefined;
  const candidate = digits.startsWith('+') ? digits : `+${digits}`;
  const parsed = parsePhoneNumberFromString(candidate);
  // Keep numbers libphonenumber cannot classify (new ranges, test numbers) as long as they are E.164-shaped.
  return parsed?.number ?? candidate;
}

export function e164Digits(e164: string): string {
  return e164.replace(/^\+/, '');
}

export type Identity = { kind: 'phone'; value: string } | { kind: 'bsuid'; value: string };

/** Parse a user-supplied identity (CLI/API): `+E164` or digits → phone; `CC.xxx` → BSUID. */
export function parseIdentity(input: {
  phone?: string | undefined;
  user_id?: string | undefined;
}): Identity | undefined {
  if (input.phone !== undefined) {
    const e164 = toE164(input.phone);
    return e164 ? { kind: 'phone', value: e164 } : undefined;
  }
  if (input.user_id !== undefined)
    return isBsuid(input.user_id) ? { kind: 'bsuid', value: input.user_id } : undefined;
  return undefined;
}
