import crypto from 'node:crypto';
import type { Identity } from '../../src/lib/phone.js';

/**
 * Obviously fake people for load: +1 555 numbers (reserved for fiction), unique within a run, numbered so a
 * scenario can make thousands of them cheaply.
 */
export interface BenchPerson {
  waId: string;
  e164: string;
  name: string;
  bsuid: string;
}

let base = crypto.randomInt(0, 5_000_000);

export function benchPerson(): BenchPerson {
  base = (base + 1) % 10_000_000;
  const digits = `1555${String(base).padStart(7, '0')}`;
  return {
    waId: digits,
    e164: `+${digits}`,
    name: `Benchperson ${crypto.randomBytes(3).toString('hex')}`,
    bsuid: `US.${crypto.randomBytes(10).toString('hex')}`,
  };
}

export const phoneOf = (p: BenchPerson): Identity => ({ kind: 'phone', value: p.e164 });
