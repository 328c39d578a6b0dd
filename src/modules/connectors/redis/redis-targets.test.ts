import { describe, expect, it } from 'vitest';
import { escapeGlob, fill, targetWarnings } from './redis-targets.js';

const ids = { e164: ['+15550101', '+15550102'], digits: ['15550101', '15550102'], bsuid: ['US.7'] };

describe('redis templates', () => {
  it('escapes every glob metacharacter of a value', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
  });

  it('fills each identifier value; pattern templates get escaped values, literal parts stay globs', () => {
    expect(fill([{ text: 'flow:{e164}:*', glob: true }], { ...ids, e164: ['+1*'] })).toEqual([
      ['flow:+1\\*:*'],
    ]);
    expect(fill([{ text: 'session:{digits}', glob: false }], ids)).toEqual([
      ['session:15550101'],
      ['session:15550102'],
    ]);
  });

  it('pairs a hash key and field by the same identifier value, and never re-expands a value', () => {
    expect(
      fill(
        [
          { text: 'h:{digits}:*', glob: true },
          { text: '{digits}', glob: false },
        ],
        { ...ids, digits: ['1*', '{bsuid}'] },
      ),
    ).toEqual([
      ['h:1\\*:*', '1*'],
      ['h:{bsuid}:*', '{bsuid}'],
    ]);
  });

  it('gives nothing without identifier values or placeholders, and drops empty values', () => {
    expect(fill([{ text: 'session:{digits}', glob: false }], { ...ids, digits: ['', ' '] })).toEqual([]);
    expect(fill([{ text: 'static', glob: false }], ids)).toEqual([]);
  });

  it('warns when a wildcard follows an identifier', () => {
    const t = (template: string) => ({ kind: 'key' as const, where: template, template, wildcard: true });
    expect(targetWarnings([t('otp:{e164}*')])).toHaveLength(1);
    expect(targetWarnings([t('otp:{e164}:*')])).toEqual([]);
  });
});
