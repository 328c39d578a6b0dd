import type { Kysely } from 'kysely';
import type { DB } from '../../../lib/db/schema.js';
import { totpAad } from '../admin-email.js';
import type { AdminDeps } from '../admin.types.js';
import { endUserSessions, startSession, type NewSession } from '../sessions.js';
import { newTotpSecret } from '../totp.js';

/**
 * Start (or start again) the enrolment of an admin without an authenticator, inside the sign-in's transaction:
 * a fresh TOTP secret is sealed in place of the pending one (a URI shown to an earlier, abandoned attempt stops
 * working), earlier enrolment sessions end, and a new enrolment-only session begins.
 */
export async function beginEnrolment(
  tx: Kysely<DB>,
  deps: Pick<AdminDeps, 'keyring'>,
  userId: string,
  now: Date,
): Promise<NewSession> {
  await tx
    .updateTable('admin_users')
    .set({
      totp_secret: deps.keyring.sealSecret(newTotpSecret(), totpAad(userId)),
      totp_last_step: null,
      updated_at: now,
    })
    .where('id', '=', userId)
    .where('mfa_enrolled_at', 'is', null)
    .execute();
  await endUserSessions(tx, userId, now);
  return startSession(tx, userId, now, { enrolment: true });
}
