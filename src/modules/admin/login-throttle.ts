import { sql, type Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';

/**
 * Sign-in rate limiting, in the database so every instance shares it. Two counters per attempt: the account
 * (keyed hash of the e-mail, whether or not an admin has it, so a lockout says nothing about who exists) and the
 * client address (keyed hash). Failures count within a 15-minute window; 5 on an account or 20 from one
 * address lock it for 15 minutes, during which even the right password is refused (429). A success clears the
 * account's counter. Rows are locked FOR UPDATE for the whole attempt, so parallel guesses cannot slip past
 * the limit. Trade-off: anyone can lock an account for 15 minutes by failing five times; the lock is short and
 * audited.
 */
export const THROTTLE = {
  accountFailures: 5,
  sourceFailures: 20,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
} as const;

export type ThrottleScope = 'account' | 'source';
export type ThrottleKeys = Record<ThrottleScope, string>;

export function throttleKeys(
  keyring: Pick<Keyring, 'hmac'>,
  emailIndex: string,
  sourceIp: string,
): ThrottleKeys {
  return { account: emailIndex, source: keyring.hmac('blind-index', `admin-source:${sourceIp}`) };
}

/** Lock both counters for this attempt; the scope that refuses it and until when, if one is locked. */
export async function lockThrottle(
  tx: Kysely<DB>,
  keys: ThrottleKeys,
  now: Date,
): Promise<{ scope: ThrottleScope; until: Date } | undefined> {
  await tx
    .insertInto('admin_login_throttle')
    .values([
      { scope: 'account', key: keys.account, failures: 0, window_started_at: now, locked_until: null },
      { scope: 'source', key: keys.source, failures: 0, window_started_at: now, locked_until: null },
    ])
    .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
    .execute();
  // One order (account before source) for every attempt, so two attempts never wait on each other in a cycle.
  const rows = await tx
    .selectFrom('admin_login_throttle')
    .select(['scope', 'locked_until'])
    .where((eb) =>
      eb.or([
        eb.and([eb('scope', '=', 'account'), eb('key', '=', keys.account)]),
        eb.and([eb('scope', '=', 'source'), eb('key', '=', keys.source)]),
      ]),
    )
    .orderBy('scope')
    .forUpdate()
    .execute();
  for (const r of rows) {
    if (r.locked_until !== null && new Date(r.locked_until) > now) {
      return { scope: r.scope, until: new Date(r.locked_until) };
    }
  }
  return undefined;
}

/** Count one failure on both counters; true when it locked either. */
export async function recordFailure(tx: Kysely<DB>, keys: ThrottleKeys, now: Date): Promise<boolean> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const windowStart = sql`${new Date(now.getTime() - THROTTLE.windowMs).toISOString()}::timestamptz`;
  const lockedUntil = new Date(now.getTime() + THROTTLE.lockMs);
  let locked = false;
  for (const scope of ['account', 'source'] as const) {
    const limit = scope === 'account' ? THROTTLE.accountFailures : THROTTLE.sourceFailures;
    const row = await tx
      .updateTable('admin_login_throttle')
      .set({
        failures: sql<number>`case when window_started_at < ${windowStart} then 1 else failures + 1 end`,
        window_started_at: sql<Date>`case when window_started_at < ${windowStart} then ${at} else window_started_at end`,
      })
      .where('scope', '=', scope)
      .where('key', '=', keys[scope])
      .returning('failures')
      .executeTakeFirst();
    if (row && row.failures >= limit) {
      await tx
        .updateTable('admin_login_throttle')
        .set({ locked_until: lockedUntil, failures: 0, window_started_at: now })
        .where('scope', '=', scope)
        .where('key', '=', keys[scope])
        .execute();
      locked = true;
    }
  }
  return locked;
}

/** A successful sign-in clears the account's counter (the address keeps its count). */
export async function clearAccount(tx: Kysely<DB>, keys: ThrottleKeys): Promise<void> {
  await tx
    .deleteFrom('admin_login_throttle')
    .where('scope', '=', 'account')
    .where('key', '=', keys.account)
    .execute();
}
