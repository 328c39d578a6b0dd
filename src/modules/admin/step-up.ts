import type { AdminDeps, AdminPrincipal } from './admin.types.js';
import { factorFailure, throttledFactor } from './mfa/throttled-factor.js';
import type { SecondFactorInput } from './second-factor.js';
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
  const now = deps.clock();
  const outcome = await deps.database.db.transaction().execute(async (tx) => {
    const tenantId = await eventTenant(tx, principal);
    const attempt = { ...input, userId: principal.userId, tenantId, kind: 'step_up' as const };
    return throttledFactor(tx, deps, attempt, now, async (factor) => {
      await tx
        .updateTable('admin_sessions')
        .set({ mfa_at: now, last_seen_at: now })
        .where('id_hash', '=', principal.session.idHash)
        .execute();
      const left = factor.method === 'recovery_code' ? factor.left : undefined;
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor: { type: 'admin', id: principal.userId },
        data: {
          outcome: 'succeeded',
          method: factor.method,
          step_up: true,
          ...(left !== undefined ? { recovery_codes_left: left } : {}),
        },
      });
      return left;
    });
  });
  if (!outcome.ok) throw factorFailure(outcome);
  return {
    mfa_at: now.toISOString(),
    ...(outcome.value !== undefined ? { recovery_codes_left: outcome.value } : {}),
  };
}
