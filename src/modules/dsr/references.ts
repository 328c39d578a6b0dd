import crypto from 'node:crypto';

const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ23456789'; // no 0/O, 1/I/L, U

/** A short reference a person can read out or type: FG-XXXX-XXXX (~39 bits, unique-checked by the table). */
export function newRequestReference(): string {
  const bytes = crypto.randomBytes(8);
  const chars = [...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join('');
  return `FG-${chars.slice(0, 4)}-${chars.slice(4, 8)}`;
}
