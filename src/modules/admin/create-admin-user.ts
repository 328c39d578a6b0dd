import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { Actor } from '../dsr/index.js';
import { emailAad, emailIndex, normaliseEmail, totpAad } from './admin-email.js';
import type { AdminDeps } from './admin.types.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { isAdminRole, type AdminRole } from './permissions.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { defaultTenantId } from './tenant-scope.js';
import { newTotpSecret, totpUri } from './totp.js';

export interface CreateAdminUserInput {
  email: unknown;
  password: unknown;
  role: unknown;
  /** undefined: a global admin. */
  tenantId?: string | undefined;
  /**
   * true: no authenticator now; the admin enrols one at the first sign-in (scanning a QR code in the dashboard),
   * so no one else ever sees its secret or recovery codes. Default false: enrolled now, with the URI returned.
   */
  enrolAtSignIn?: boolean | undefined;
  actor: Actor;
}

export interface CreatedAdminUser {
  id: string;
  email: string;
  role: AdminRole;
  tenant: string | null;
  /** false: the admin enrols an authenticator at the first sign-in (no URI, no codes here). */
  mfa_enrolled: boolean;
  /** Shown once: the authenticator enrolment (render it as a QR code or type the secret in). */
  otpauth_uri?: string;
  /** Shown once: ten one-time codes for when the authenticator is lost. */
  recovery_codes?: string[];
}

/**
 * Create an admin: argon2id password, a new TOTP secret (sealed) and ten recovery codes (hashed). MFA is not
 * optional. By default the returned `otpauth://` URI is the enrolment (the admin counts as enrolled, and the
 * first sign-in already needs a code from the authenticator). With `enrolAtSignIn` nothing is returned but the
 * account: the first sign-in with the password opens an enrolment session (QR code, first code, recovery codes).
 * The user, its codes and the `admin_user.created` event are written in one transaction.
 */
export async function createAdminUser(
  db: Kysely<DB>,
  deps: Pick<AdminDeps, 'keyring' | 'audit' | 'clock'>,
  input: CreateAdminUserInput,
): Promise<CreatedAdminUser> {
  const email = normaliseEmail(input.email);
  const password = checkPasswordPolicy(input.password);
  if (!isAdminRole(input.role)) {
    throw new AppError(
      'VALIDATION_FAILED',
      { field: 'role' },
      'role must be owner, privacy_officer, operator or auditor',
    );
  }
  const role = input.role;
  if (input.tenantId !== undefined) {
    const tenant = await db
      .selectFrom('tenants')
      .select('id')
      .where('id', '=', input.tenantId)
      .executeTakeFirst();
    if (!tenant) throw new AppError('TENANT_NOT_FOUND', { tenant: input.tenantId });
  }
  const id = crypto.randomUUID();
  const passwordHash = await hashPassword(password);
  const enrolNow = input.enrolAtSignIn !== true;
  const secret = newTotpSecret();
  const codes = enrolNow ? newRecoveryCodes() : [];
  const index = emailIndex(deps.keyring, email);
  const now = deps.clock();
  await db.transaction().execute(async (tx) => {
    const taken = await tx
      .selectFrom('admin_users')
      .select('id')
      .where('email_index', '=', index)
      .executeTakeFirst();
    if (taken) throw new AppError('CONFLICT', { resource: 'admin_user' }, 'an admin with this e-mail exists');
    await tx
      .insertInto('admin_users')
      .values({
        id,
        tenant_id: input.tenantId ?? null,
        email_index: index,
        email: deps.keyring.sealSecret(email, emailAad(id)),
        role,
        password_hash: passwordHash,
        totp_secret: deps.keyring.sealSecret(secret, totpAad(id)),
        totp_last_step: null,
        created_at: now,
        updated_at: now,
        last_login_at: null,
        disabled_at: null,
        mfa_enrolled_at: enrolNow ? now : null,
      })
      .execute();
    if (codes.length > 0) {
      await tx
        .insertInto('admin_recovery_codes')
        .values(codes.map((c) => ({ user_id: id, code_hash: hashRecoveryCode(c), used_at: null })))
        .execute();
    }
    await deps.audit(tx, {
      tenantId: input.tenantId ?? (await defaultTenantId(tx)),
      type: 'admin_user.created',
      actor: input.actor,
      data: { admin_id: id, role, global: input.tenantId === undefined, mfa_enrolled: enrolNow },
    });
  });
  return {
    id,
    email,
    role,
    tenant: input.tenantId ?? null,
    mfa_enrolled: enrolNow,
    ...(enrolNow ? { otpauth_uri: totpUri(secret, email), recovery_codes: codes } : {}),
  };
}
