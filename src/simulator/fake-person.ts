import crypto from 'node:crypto';

/** An obviously fake person for the simulator: a +1 555 01xx xxxx number (555 is not a real area code). */
export interface FakePerson {
  /** +E.164 */
  phone: string;
  /** The same number as Meta writes it in webhooks (`wa_id`): digits, no `+`. */
  waId: string;
  name: string;
}

const FIRST = ['Alex', 'Sam', 'Robin', 'Kim', 'Jordan', 'Taylor', 'Riley', 'Casey'];
const LAST = ['Example', 'Sample', 'Testwell', 'Demo', 'Mock', 'Placeholder'];

/** Only fictional numbers: the simulation erases the person it plays, so a real customer must never be one. */
export const FICTIONAL_PHONE = /^\+1555\d{6,8}$/;

const pick = (list: string[]) => list[crypto.randomInt(0, list.length)]!;

export function fakePerson(phone?: string): FakePerson {
  const e164 =
    phone ??
    `+155501${String(crypto.randomInt(0, 100)).padStart(2, '0')}${String(crypto.randomInt(0, 10_000)).padStart(4, '0')}`;
  return { phone: e164, waId: e164.slice(1), name: `${pick(FIRST)} ${pick(LAST)} (simulated)` };
}
