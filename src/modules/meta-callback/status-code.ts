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

/** The tag's hex, without the key version label values carry from the event-id key's second version on. */
const tagOf = (value: string) => value.slice(value.indexOf('.') + 1, value.indexOf('.') + 25);
const message = (reference: string) => `meta-deletion-status\u0000${reference}`;

export function statusCodeFor(keyring: Pick<Keyring, 'hmac'>, reference: string): string {
  if (!REFERENCE.test(reference)) throw new Error('not a request reference');
  return `${reference}.${tagOf(keyring.hmac('event-id', message(reference)))}`;
}

/**
 * The reference a status code stands for, or undefined when the code is not one flowguard issued (under any
 * held event-id key version: codes issued before a new version keep working until the old one is retired).
 */
export function referenceOfStatusCode(keyring: Pick<Keyring, 'hmacAll'>, code: unknown): string | undefined {
  if (typeof code !== 'string') return undefined;
  const m = CODE.exec(code);
  if (!m) return undefined;
  const [, reference, tag] = m as unknown as [string, string, string];
  const tags = keyring.hmacAll('event-id', message(reference)).map(tagOf);
  return tags.some((t) => timingSafeEqualHex(t, tag)) ? reference : undefined;
}
