import type { Kysely } from 'kysely';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { totpAad } from './admin-email.js';
import { hashRecoveryCode } from './recovery-codes.js';
import { verifyTotp } from './totp.js';

export interface SecondFactorInput {
  totp?: string | undefined;
  recoveryCode?: string | undefined;
}

export type SecondFactorResult = { method: 'totp' } | { method: 'recovery_code'; left: number };

/**
 * Check a TOTP code (once per time step: the accepted step is stored) or spend a recovery code (once: marked
 * used in the same statement that finds it), inside the caller's transaction. Undefined when neither is valid.
 */
export async function checkSecondFactor(
  tx: Kysely<DB>,
  keyring: Pick<Keyring, 'openSecret'>,
  user: { id: string; totp_secret: string; totp_last_step: string | null },
  input: SecondFactorInput,
  now: Date,
): Promise<SecondFactorResult | undefined> {
  if (input.totp !== undefined) {
    const secret = keyring.openSecret(user.totp_secret, totpAad(user.id));
    const last = user.totp_last_step === null ? undefined : Number(user.totp_last_step);
    const step = await verifyTotp(secret, input.totp, now, last);
    if (step === undefined) return undefined;
    await tx.updateTable('admin_users').set({ totp_last_step: step }).where('id', '=', user.id).execute();
    return { method: 'totp' };
  }
  if (input.recoveryCode !== undefined) {
    const spent = await tx
      .updateTable('admin_recovery_codes')
      .set({ used_at: now })
      .where('user_id', '=', user.id)
      .where('code_hash', '=', hashRecoveryCode(input.recoveryCode))
      .where('used_at', 'is', null)
      .returning('code_hash')
      .executeTakeFirst();
    if (!spent) return undefined;
    const left = await tx
      .selectFrom('admin_recovery_codes')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('user_id', '=', user.id)
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return { method: 'recovery_code', left: Number(left.n) };
  }
  return undefined;
}
