import { AppError } from '../../lib/errors.js';
import type { AdminDeps, AdminPrincipal } from './admin.types.js';
import { clearAccount, lockThrottle, recordFailure, throttleKeys } from './login-throttle.js';
import { checkSecondFactor, type SecondFactorInput } from './second-factor.js';
import { eventTenant } from './tenant-scope.js';

/**
 * Show the second factor again within a session (step-up) before a route that needs it fresh: a TOTP code (a new
 * one: each time step is accepted once) or a recovery code. Throttled and audited like a sign-in.
 */
export async function stepUp(
  deps: Pick<AdminDeps, 'database' | 'keyring' | 'clock' | 'audit'>,
  principal: Extract<AdminPrincipal, { kind: 'user' }>,
  input: SecondFactorInput & { sourceIp: string },
): Promise<{ mfa_at: string; recovery_codes_left?: number | undefined }> {
  const db = deps.database.db;
  const now = deps.clock();
  const outcome = await db.transaction().execute(async (tx) => {
    const user = await tx
      .selectFrom('admin_users')
      .select(['id', 'email_index', 'totp_secret', 'totp_last_step'])
      .where('id', '=', principal.userId)
      .executeTakeFirstOrThrow();
    const keys = throttleKeys(deps.keyring, user.email_index, input.sourceIp);
    const locked = await lockThrottle(tx, keys, now);
    if (locked)
      return { ok: false as const, retryAfter: Math.ceil((locked.until.getTime() - now.getTime()) / 1000) };
    const tenantId = await eventTenant(tx, principal);
    const actor = { type: 'admin' as const, id: user.id };
    const factor = await checkSecondFactor(tx, deps.keyring, user, input, now);
    if (!factor) {
      const lockedNow = await recordFailure(tx, keys, now);
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor,
        data: { outcome: 'failed', reason: 'invalid_credentials', step_up: true, locked: lockedNow },
      });
      return { ok: false as const };
    }
    await clearAccount(tx, keys);
    await tx
      .updateTable('admin_sessions')
      .set({ mfa_at: now, last_seen_at: now })
      .where('id_hash', '=', principal.session.idHash)
      .execute();
    await deps.audit(tx, {
      tenantId,
      type: 'admin.login',
      actor,
      data: {
        outcome: 'succeeded',
        method: factor.method,
        step_up: true,
        ...(factor.method === 'recovery_code' ? { recovery_codes_left: factor.left } : {}),
      },
    });
    return { ok: true as const, left: factor.method === 'recovery_code' ? factor.left : undefined };
  });
  if (outcome.ok) {
    return {
      mfa_at: now.toISOString(),
      ...(outcome.left !== undefined ? { recovery_codes_left: outcome.left } : {}),
    };
  }
  if (outcome.retryAfter !== undefined) {
    throw new AppError(
      'RATE_LIMITED',
      { retry_after: outcome.retryAfter },
      'too many attempts; try again later',
    );
  }
  throw new AppError('UNAUTHENTICATED', { reason: 'code' }, 'invalid code');
}
