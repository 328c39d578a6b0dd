import type { AdminDeps, AdminPrincipal } from '../admin.types.js';
import { replaceRecoveryCodes } from '../recovery-codes.js';
import { eventTenant } from '../tenant-scope.js';
import { factorFailure, throttledFactor } from './throttled-factor.js';

/**
 * An admin replaces its own recovery codes, showing a current TOTP code (not a recovery code: whoever holds only
 * a list of codes must not get a new list). Throttled like a sign-in. In one transaction: ten new codes (the old
 * ones stop working), the session's second factor counts as fresh (it was just shown), `admin.login` (a step-up
 * success) and `admin_user.recovery_codes_regenerated`. The codes are returned once.
 */
export async function regenerateRecoveryCodes(
  deps: Pick<AdminDeps, 'database' | 'keyring' | 'clock' | 'audit'>,
  principal: Extract<AdminPrincipal, { kind: 'user' }>,
  input: { totp: string; sourceIp: string },
): Promise<{ recovery_codes: string[] }> {
  const now = deps.clock();
  const outcome = await deps.database.db.transaction().execute(async (tx) => {
    const tenantId = await eventTenant(tx, principal);
    const actor = { type: 'admin' as const, id: principal.userId };
    const attempt = {
      userId: principal.userId,
      tenantId,
      sourceIp: input.sourceIp,
      totp: input.totp,
      kind: 'step_up' as const,
    };
    return throttledFactor(tx, deps, attempt, now, async () => {
      const { codes } = await replaceRecoveryCodes(tx, principal.userId);
      await tx
        .updateTable('admin_sessions')
        .set({ mfa_at: now, last_seen_at: now })
        .where('id_hash', '=', principal.session.idHash)
        .execute();
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor,
        data: { outcome: 'succeeded', method: 'totp', step_up: true },
      });
      await deps.audit(tx, {
        tenantId,
        type: 'admin_user.recovery_codes_regenerated',
        actor,
        data: { admin_id: principal.userId, recovery_codes: codes.length },
      });
      return codes;
    });
  });
  if (!outcome.ok) throw factorFailure(outcome);
  return { recovery_codes: outcome.value };
}
