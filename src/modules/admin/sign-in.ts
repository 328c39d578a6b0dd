import { AppError } from '../../lib/errors.js';
import type { Actor } from '../dsr/index.js';
import { emailIndex } from './admin-email.js';
import type { AdminDeps } from './admin.types.js';
import { clearAccount, lockThrottle, recordFailure, throttleKeys } from './login-throttle.js';
import { verifyPassword } from './passwords.js';
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
      .select(['id', 'role', 'tenant_id', 'password_hash', 'totp_secret', 'totp_last_step', 'disabled_at'])
      .where('email_index', '=', keys.account)
      .executeTakeFirst();
    const passwordOk = await verifyPassword(user?.password_hash, input.password);
    const factor =
      user && passwordOk ? await checkSecondFactor(tx, deps.keyring, user, input, now) : undefined;
    const tenantId = user?.tenant_id ?? (await defaultTenantId(tx));
    const actor: Actor = user ? { type: 'admin', id: user.id } : UNKNOWN_ACTOR;

    if (!user || !factor || user.disabled_at !== null) {
      const lockedNow = await recordFailure(tx, keys, now);
      await deps.audit(tx, {
        tenantId,
        type: 'admin.login',
        actor,
        data: {
          outcome: 'failed',
          reason: user && factor ? 'disabled' : 'invalid_credentials',
          locked: lockedNow,
        },
      });
      return { ok: false };
    }
    await clearAccount(tx, keys);
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
        user: { id: user.id, role: user.role, tenant: user.tenant_id },
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
