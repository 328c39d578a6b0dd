import { AppError } from '../../../lib/errors.js';
import { emailAad, totpAad } from '../admin-email.js';
import type { AdminDeps, EnrolmentPrincipal } from '../admin.types.js';
import type { Enrolment } from '../api-shapes.js';
import { replaceRecoveryCodes } from '../recovery-codes.js';
import { endUserSessions, startSession, type NewSession } from '../sessions.js';
import { eventTenant } from '../tenant-scope.js';
import { TOTP_ISSUER, totpUri } from '../totp.js';
import { factorFailure, throttledFactor } from './throttled-factor.js';

/**
 * Enrolling an authenticator, from an enrolment session (the password shown, no second factor yet): read the
 * pending secret (as an `otpauth://` URI for a QR code, and the key for typing in) and confirm it with a current
 * code (giving up is a sign-out). The confirmation is the only way such a session ever leads further.
 */

/** The pending secret of the session's admin: shown to this session only, until it is confirmed. */
export async function showEnrolment(
  deps: Pick<AdminDeps, 'database' | 'keyring'>,
  principal: EnrolmentPrincipal,
): Promise<Enrolment> {
  const row = await deps.database.db
    .selectFrom('admin_users')
    .select(['email', 'totp_secret'])
    .where('id', '=', principal.userId)
    .where('mfa_enrolled_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new AppError('CONFLICT', { reason: 'enrolled' }, 'the authenticator is already enrolled');
  const email = deps.keyring.openSecret(row.email, emailAad(principal.userId));
  const secret = deps.keyring.openSecret(row.totp_secret, totpAad(principal.userId));
  return {
    otpauth_uri: totpUri(secret, email),
    secret,
    issuer: TOTP_ISSUER,
    account: email,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    expires_at: principal.session.expiresAt.toISOString(),
  };
}

export interface Enrolled {
  session: NewSession;
  user: { id: string; role: string; tenant: string | null };
  /** Shown once. */
  recoveryCodes: string[];
}

/**
 * Confirm the pending secret with a current code (throttled and audited like a sign-in). In one transaction:
 * the admin is enrolled, gets ten new recovery codes (hashed; the old ones, if any, are gone), every session of
 * the admin ends (this enrolment session too) and a full session begins (a new id: nothing of the
 * password-only session carries over), with `admin_user.mfa_enrolled` and an `admin.login` success.
 */
export async function confirmEnrolment(
  deps: Pick<AdminDeps, 'database' | 'keyring' | 'clock' | 'audit'>,
  principal: EnrolmentPrincipal,
  input: { totp: string; sourceIp: string },
): Promise<Enrolled> {
  const now = deps.clock();
  const outcome = await deps.database.db.transaction().execute(async (tx) => {
    const user = await tx
      .selectFrom('admin_users')
      .select(['id', 'role', 'tenant_id', 'mfa_enrolled_at'])
      .where('id', '=', principal.userId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (user.mfa_enrolled_at !== null) {
      throw new AppError('CONFLICT', { reason: 'enrolled' }, 'the authenticator is already enrolled');
    }
    const tenantId = await eventTenant(tx, principal);
    const attempt = {
      userId: user.id,
      tenantId,
      sourceIp: input.sourceIp,
      totp: input.totp,
      kind: 'enrolment' as const,
    };
    return throttledFactor(tx, deps, attempt, now, async () => {
      await tx
        .updateTable('admin_users')
        .set({ mfa_enrolled_at: now, last_login_at: now, updated_at: now })
        .where('id', '=', user.id)
        .execute();
      const { codes } = await replaceRecoveryCodes(tx, user.id);
      await endUserSessions(tx, user.id, now);
      const session = await startSession(tx, user.id, now);
      const actor = { type: 'admin' as const, id: user.id };
      await deps.audit(tx, {
        tenantId,
        type: 'admin_user.mfa_enrolled',
        actor,
        data: { admin_id: user.id, recovery_codes: codes.length },
      });
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor,
        data: { outcome: 'succeeded', method: 'totp', enrolment: true },
      });
      return {
        session,
        user: { id: user.id, role: user.role, tenant: user.tenant_id },
        recoveryCodes: codes,
      };
    });
  });
  if (!outcome.ok) throw factorFailure(outcome);
  return outcome.value;
}
