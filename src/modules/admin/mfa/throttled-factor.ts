import type { Kysely } from 'kysely';
import type { DB } from '../../../lib/db/schema.js';
import { AppError } from '../../../lib/errors.js';
import type { AdminDeps } from '../admin.types.js';
import { clearAccount, lockThrottle, recordFailure, throttleKeys } from '../login-throttle.js';
import { checkSecondFactor, type SecondFactorInput, type SecondFactorResult } from '../second-factor.js';

export interface FactorAttempt extends SecondFactorInput {
  userId: string;
  /** Where the events are filed (the admin's tenant, or the default one for a global admin). */
  tenantId: string;
  /** The client address (after trusted proxies): only its keyed hash is stored, for the throttle. */
  sourceIp: string;
  /** What the attempt is, in the `admin.login` event of a failure. */
  kind: 'step_up' | 'enrolment';
}

export type FactorOutcome<T> = { ok: true; value: T } | { ok: false; retryAfter?: number | undefined };

/**
 * The second factor shown within a session (step-up, the first code of an enrolment, regenerating recovery
 * codes), inside the caller's transaction: throttled like a sign-in (the account's and the address's counters,
 * 429 while locked), and a failure is counted and audited as an `admin.login` failure. On success the account's
 * failures are cleared and `onSuccess` runs in the same transaction. The caller throws with `factorFailure`
 * after its transaction, so the failure's count and event are kept.
 */
export async function throttledFactor<T>(
  tx: Kysely<DB>,
  deps: Pick<AdminDeps, 'keyring' | 'audit'>,
  attempt: FactorAttempt,
  now: Date,
  onSuccess: (factor: SecondFactorResult) => Promise<T>,
): Promise<FactorOutcome<T>> {
  const user = await tx
    .selectFrom('admin_users')
    .select(['id', 'email_index', 'totp_secret', 'totp_last_step'])
    .where('id', '=', attempt.userId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const keys = throttleKeys(deps.keyring, user.email_index, attempt.sourceIp);
  const locked = await lockThrottle(tx, keys, now);
  if (locked) return { ok: false, retryAfter: Math.ceil((locked.until.getTime() - now.getTime()) / 1000) };
  const factor = await checkSecondFactor(tx, deps.keyring, user, attempt, now);
  if (!factor) {
    const lockedNow = await recordFailure(tx, keys, now);
    await deps.audit(tx, {
      tenantId: attempt.tenantId,
      type: 'admin.login',
      actor: { type: 'admin', id: user.id },
      data: { outcome: 'failed', reason: 'invalid_credentials', [attempt.kind]: true, locked: lockedNow },
    });
    return { ok: false };
  }
  await clearAccount(tx, keys);
  return { ok: true, value: await onSuccess(factor) };
}

/** The error of a failed attempt: 429 with the seconds to wait while locked, else a 401 that says only "code". */
export function factorFailure(outcome: { retryAfter?: number | undefined }): AppError {
  if (outcome.retryAfter !== undefined) {
    return new AppError(
      'RATE_LIMITED',
      { retry_after: outcome.retryAfter },
      'too many attempts; try again later',
    );
  }
  return new AppError('UNAUTHENTICATED', { reason: 'code' }, 'invalid code');
}
