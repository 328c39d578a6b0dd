import { describe, expect, it } from 'vitest';
import { addBusinessDays, addCalendarMonths, dueDate, maxExtendedDue } from './deadlines.js';

const d = (s: string) => new Date(s);

describe('deadlines', () => {
  it('GDPR: one calendar month, clamped to the end of a shorter month', () => {
    expect(addCalendarMonths(d('2026-01-15T10:00:00Z'), 1).toISOString()).toBe('2026-02-15T10:00:00.000Z');
    expect(addCalendarMonths(d('2026-01-31T10:00:00Z'), 1).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(addCalendarMonths(d('2028-01-31T10:00:00Z'), 1).toISOString()).toBe('2028-02-29T10:00:00.000Z');
    expect(addCalendarMonths(d('2026-12-20T00:00:00Z'), 1).toISOString()).toBe('2027-01-20T00:00:00.000Z');
  });

  it('CCPA: 45 days; opt-out: 15 business days', () => {
    expect(dueDate(['ccpa'], 'erasure', d('2026-11-21T12:00:00Z')).dueAt.toISOString()).toBe(
      '2027-01-05T12:00:00.000Z',
    );
    // Saturday 21 Nov 2026 + 15 business days = Friday 11 Dec 2026
    expect(addBusinessDays(d('2026-11-21T12:00:00Z'), 15).toISOString()).toBe('2026-12-11T12:00:00.000Z');
    expect(dueDate(['gdpr'], 'opt_out', d('2026-11-21T12:00:00Z')).dueAt.toISOString()).toBe(
      '2026-12-11T12:00:00.000Z',
    );
  });

  it('the strictest regime wins', () => {
    // February: one month (28 days) is stricter than 45 days.
    expect(dueDate(['gdpr', 'ccpa'], 'erasure', d('2026-02-01T00:00:00Z'))).toEqual({
      dueAt: d('2026-03-01T00:00:00Z'),
      regime: 'gdpr',
    });
    expect(dueDate(['ccpa', 'gdpr'], 'access', d('2026-07-10T00:00:00Z')).regime).toBe('gdpr');
  });

  it('extensions: GDPR by two further months, CCPA by 45 days', () => {
    expect(maxExtendedDue('gdpr', d('2026-01-31T00:00:00Z')).toISOString()).toBe('2026-04-30T00:00:00.000Z');
    expect(maxExtendedDue('ccpa', d('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-04-01T00:00:00.000Z');
  });
});
