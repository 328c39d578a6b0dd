/**
 * Statutory deadlines (COMPLIANCE.md). All arithmetic is in UTC calendar terms.
 * - GDPR Art. 12(3): one calendar month from receipt, extendable by two further months.
 * - CCPA 1798.130: 45 calendar days, extendable once by 45.
 * - CCPA opt-out (1798.120, 11 CCR 7026): 15 business days. GDPR Art. 21(3) objection to direct
 *   marketing is absolute and immediate; we give it the same 15 business days as an outer bound.
 * A tenant may choose several regimes; the strictest (earliest) due date applies.
 */

export type Regime = 'gdpr' | 'ccpa';
export type RequestType = 'erasure' | 'access' | 'rectification' | 'opt_out' | 'restriction';

/** Same day-of-month N months later; the last day of the month when that day does not exist (31 Jan → 28/29 Feb). */
export function addCalendarMonths(from: Date, months: number): Date {
  const d = new Date(from.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

export function addDays(from: Date, days: number): Date {
  return new Date(from.getTime() + days * 86_400_000);
}

/** Business days: Monday to Friday (public holidays vary by state and are not modelled). */
export function addBusinessDays(from: Date, days: number): Date {
  const d = new Date(from.getTime());
  let left = days;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) left--;
  }
  return d;
}

function dueFor(regime: Regime, type: RequestType, receivedAt: Date): Date {
  if (type === 'opt_out') return addBusinessDays(receivedAt, 15);
  return regime === 'gdpr' ? addCalendarMonths(receivedAt, 1) : addDays(receivedAt, 45);
}

export function dueDate(
  regimes: readonly Regime[],
  type: RequestType,
  receivedAt: Date,
): { dueAt: Date; regime: Regime } {
  let best: { dueAt: Date; regime: Regime } | undefined;
  for (const regime of regimes.length ? regimes : (['gdpr'] as const)) {
    const dueAt = dueFor(regime, type, receivedAt);
    if (!best || dueAt < best.dueAt) best = { dueAt, regime };
  }
  return best!;
}

/** The latest due date an extension may set: GDPR +2 months, CCPA +45 days, counted from the original receipt. */
export function maxExtendedDue(regime: Regime, receivedAt: Date): Date {
  return regime === 'gdpr' ? addCalendarMonths(receivedAt, 3) : addDays(receivedAt, 90);
}
