import type { Kysely } from 'kysely';
import type { Keyring } from '../../../lib/crypto/index.js';
import type { DB } from '../../../lib/db/schema.js';
import { AppError } from '../../../lib/errors.js';
import type { Actor } from '../../dsr/index.js';
import { emailIndexes, normaliseEmail, totpAad } from '../admin-email.js';
import type { AdminDeps } from '../admin.types.js';
import { replaceRecoveryCodes } from '../recovery-codes.js';
import { endUserSessions } from '../sessions.js';
import { defaultTenantId } from '../tenant-scope.js';
import { newTotpSecret } from '../totp.js';

export interface MfaReset {
  id: string;
  mfa_enrolled: false;
  sessions_ended: number;
  recovery_codes_removed: number;
}

/**
 * Reset an admin's MFA (the authenticator is lost): in one transaction the TOTP secret is replaced by one that
 * is never shown, every recovery code is removed, every session ends and the admin counts as not enrolled, with
 * `admin_user.mfa_reset`. The password is unchanged: the next sign-in with it opens an enrolment session, where
 * the admin scans a new QR code. `tenantId` limits the reset to that tenant's admins (an owner bound to one);
 * `selfId` is refused (an owner resets someone else; its own codes it can regenerate).
 */
export async function resetAdminMfa(
  deps: Pick<AdminDeps, 'database' | 'keyring' | 'clock' | 'audit'>,
  input: { userId: string; actor: Actor; tenantId?: string | undefined; selfId?: string | undefined },
): Promise<MfaReset> {
  if (input.selfId !== undefined && input.selfId === input.userId) {
    throw new AppError('CONFLICT', { reason: 'self' }, 'you cannot reset your own MFA');
  }
  const now = deps.clock();
  return deps.database.db.transaction().execute(async (tx) => {
    let q = tx.selectFrom('admin_users').select(['id', 'tenant_id']).where('id', '=', input.userId);
    if (input.tenantId !== undefined) q = q.where('tenant_id', '=', input.tenantId);
    const user = await q.forUpdate().executeTakeFirst();
    if (!user) throw new AppError('NOT_FOUND', { resource: 'admin_user' }, 'no such admin');
    await tx
      .updateTable('admin_users')
      .set({
        totp_secret: deps.keyring.sealSecret(newTotpSecret(), totpAad(user.id)),
        totp_last_step: null,
        mfa_enrolled_at: null,
        updated_at: now,
      })
      .where('id', '=', user.id)
      .execute();
    const { removed } = await replaceRecoveryCodes(tx, user.id, 0);
    const ended = await endUserSessions(tx, user.id, now);
    await deps.audit(tx, {
      tenantId: user.tenant_id ?? (await defaultTenantId(tx)),
      type: 'admin_user.mfa_reset',
      actor: input.actor,
      data: { admin_id: user.id, sessions_ended: ended, recovery_codes_removed: removed },
    });
    return { id: user.id, mfa_enrolled: false, sessions_ended: ended, recovery_codes_removed: removed };
  });
}

/** The id of the admin with this e-mail (found by its keyed index), for the CLI. */
export async function findAdminIdByEmail(
  db: Kysely<DB>,
  keyring: Pick<Keyring, 'hmacAll'>,
  email: unknown,
): Promise<string> {
  const row = await db
    .selectFrom('admin_users')
    .select('id')
    .where('email_index', 'in', emailIndexes(keyring, normaliseEmail(email)))
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', { resource: 'admin_user' }, 'no admin with this e-mail');
  return row.id;
}
