import { describe, expect, it } from 'vitest';
import { toE164, withPhoneMemo } from './phone.js';

const inputs = [
  '15550001234',
  '+1 (555) 000-1234',
  '+44 020 7946 0000',
  '4915550001234',
  '12',
  'not a number',
  '+'.padEnd(40, '1'),
  '15550001234',
];

describe('phone numbers', () => {
  it('normalises wa_id digits and formatted numbers to E.164, and refuses what is not one', () => {
    expect(inputs.map(toE164)).toEqual([
      '+15550001234',
      '+15550001234',
      '+442079460000',
      '+4915550001234',
      undefined,
      undefined,
      undefined,
      '+15550001234',
    ]);
  });

  it('answers the same inside withPhoneMemo, repeated and nested, and keeps nothing after it', () => {
    const plain = inputs.map(toE164);
    expect(withPhoneMemo(() => [...inputs.map(toE164), ...withPhoneMemo(() => inputs.map(toE164))])).toEqual([
      ...plain,
      ...plain,
    ]);
    expect(() =>
      withPhoneMemo(() => {
        toE164('15550001234');
        throw new Error('parse failed');
      }),
    ).toThrow('parse failed');
    expect(inputs.map(toE164)).toEqual(plain);
  });
});
