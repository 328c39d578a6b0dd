import { AppError } from '../../lib/errors.js';
import type { Actor } from '../dsr/index.js';
import { emailIndex, emailIndexes } from './admin-email.js';
import type { AdminDeps } from './admin.types.js';
import { clearAccount, lockThrottle, recordFailure, throttleKeys } from './login-throttle.js';
import { verifyPassword } from './passwords.js';
import { beginEnrolment } from './mfa/begin-enrolment.js';
import { checkSecondFactor, type SecondFactorInput } from './second-factor.js';
import { startSession, type NewSession } from './sessions.js';
import { defaultTenantId } from './tenant-scope.js';

export interface SignInInput extends SecondFactorInput {
  email: string;
  password: string;
  /** The client address (after trusted proxies): only its keyed hash is stored, for the throttle. */
  sourceIp: string;
}

export interface SignedIn {
  session: NewSession;
  user: { id: string; role: string; tenant: string | null };
  recoveryCodesLeft?: number | undefined;
  /** An admin without an authenticator: the session may only enrol one (GET /admin/api/session/enrolment). */
  enrolment?: true;
}

/** What a sign-in attempt can only ever answer on failure: nothing about which part was wrong. */
export const INVALID_CREDENTIALS = 'invalid e-mail, password or code';

/** Actor of sign-in events for an e-mail no admin has. */
const UNKNOWN_ACTOR: Actor = { type: 'system', id: 'admin-sign-in' };

type Outcome = { ok: true; signedIn: SignedIn } | { ok: false; retryAfter?: number | undefined };

/**
 * Sign in with e-mail, password and a TOTP code or a recovery code, all at once: a session exists only after
 * both factors. One transaction per attempt holds the throttle rows of the account and the address (so the
 * limit holds across parallel attempts and instances), checks the password (argon2id; a decoy hash for unknown
 * e-mails, so both cost the same), the second factor, and records the outcome: a session and an
 * `admin.login` success, or a counted failure and an `admin.login` failure (which says whether it locked
 * something). While locked, attempts are refused with 429 before any password is checked.
 *
 * An admin without an authenticator (created to enrol at sign-in, or after an MFA reset) has only the password
 * to show: it gets an enrolment session, which may do nothing but enrol an authenticator (mfa/enrolment.ts).
 */
export async function signIn(
  deps: Pick<AdminDeps, 'database' | 'keyring' | 'clock' | 'audit'>,
  input: SignInInput,
): Promise<SignedIn> {
  const db = deps.database.db;
  const now = deps.clock();
  const keys = throttleKeys(deps.keyring, emailIndex(deps.keyring, input.email), input.sourceIp);
  const outcome = await db.transaction().execute(async (tx): Promise<Outcome> => {
    const locked = await lockThrottle(tx, keys, now);
    if (locked) return { ok: false, retryAfter: Math.ceil((locked.until.getTime() - now.getTime()) / 1000) };
    const user = await tx
      .selectFrom('admin_users')
      .select([
        'id',
        'role',
        'tenant_id',
        'password_hash',
        'totp_secret',
        'totp_last_step',
        'disabled_at',
        'mfa_enrolled_at',
      ])
      // Under every held key version: staff can sign in between a new blind-index version and its re-index.
      .where('email_index', 'in', emailIndexes(deps.keyring, input.email))
      .executeTakeFirst();
    const passwordOk = await verifyPassword(user?.password_hash, input.password);
    const enrolling = user !== undefined && passwordOk && user.mfa_enrolled_at === null;
    const factor =
      user && passwordOk && !enrolling
        ? await checkSecondFactor(tx, deps.keyring, user, input, now)
        : undefined;
    const tenantId = user?.tenant_id ?? (await defaultTenantId(tx));
    const actor: Actor = user ? { type: 'admin', id: user.id } : UNKNOWN_ACTOR;

    if (!user || !(factor || enrolling) || user.disabled_at !== null) {
      const lockedNow = await recordFailure(tx, keys, now);
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor,
        data: {
          outcome: 'failed',
          reason: user && (factor || enrolling) ? 'disabled' : 'invalid_credentials',
          locked: lockedNow,
        },
      });
      return { ok: false };
    }
    await clearAccount(tx, keys);
    const summary = { id: user.id, role: user.role, tenant: user.tenant_id };
    if (!factor) {
      // Only an enrolling admin gets here without a second factor: an enrolment-only session.
      const session = await beginEnrolment(tx, deps, user.id, now);
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor,
        data: { outcome: 'succeeded', method: 'password', enrolment: true },
      });
      return { ok: true, signedIn: { session, user: summary, enrolment: true } };
    }
    await tx.updateTable('admin_users').set({ last_login_at: now }).where('id', '=', user.id).execute();
    const session = await startSession(tx, user.id, now);
    await deps.audit(tx, {
      tenantId,
      type: 'admin.login',
      actor,
      data: {
        outcome: 'succeeded',
        method: factor.method,
        ...(factor.method === 'recovery_code' ? { recovery_codes_left: factor.left } : {}),
      },
    });
    return {
      ok: true,
      signedIn: {
        session,
        user: summary,
        recoveryCodesLeft: factor.method === 'recovery_code' ? factor.left : undefined,
      },
    };
  });
  if (outcome.ok) return outcome.signedIn;
  if (outcome.retryAfter !== undefined) {
    throw new AppError(
      'RATE_LIMITED',
      { retry_after: outcome.retryAfter },
      'too many sign-in attempts; try again later',
    );
  }
  throw new AppError('UNAUTHENTICATED', {}, INVALID_CREDENTIALS);
}
