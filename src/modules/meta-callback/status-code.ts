import type { Keyring } from '../../lib/crypto/index.js';
import { timingSafeEqualHex } from '../../lib/crypto/index.js';

/**
 * The code in the status URL Meta shows the person: `<reference>.<tag>`, where the tag is a keyed HMAC of the
 * reference (96 bits, under the `event-id` key with its own message prefix). The reference alone (the
 * `confirmation_code`) is short enough to read out; the tag makes the URL unguessable, so nobody can walk
 * the reference space to learn which requests exist. Nothing is stored for it.
 */

const REFERENCE = /^FG-[A-Z0-9]{4}-[A-Z0-9]{4}$/;
const CODE = /^(FG-[A-Z0-9]{4}-[A-Z0-9]{4})\.([0-9a-f]{24})$/;

function tagOf(keyring: Pick<Keyring, 'hmac'>, reference: string): string {
  return keyring.hmac('event-id', `meta-deletion-status\u0000${reference}`).slice(0, 24);
}

export function statusCodeFor(keyring: Pick<Keyring, 'hmac'>, reference: string): string {
  if (!REFERENCE.test(reference)) throw new Error('not a request reference');
  return `${reference}.${tagOf(keyring, reference)}`;
}

/** The reference a status code stands for, or undefined when the code is not one flowguard issued. */
export function referenceOfStatusCode(keyring: Pick<Keyring, 'hmac'>, code: unknown): string | undefined {
  if (typeof code !== 'string') return undefined;
  const m = CODE.exec(code);
  if (!m) return undefined;
  const [, reference, tag] = m as unknown as [string, string, string];
  return timingSafeEqualHex(tagOf(keyring, reference), tag) ? reference : undefined;
}
