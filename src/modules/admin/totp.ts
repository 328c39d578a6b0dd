import { generateSecret, generateURI, verify } from 'otplib';

/**
 * TOTP as authenticator apps expect it (RFC 6238: SHA-1, 6 digits, 30 s steps) with a 160-bit secret. A code
 * is accepted one step either side of now (clock drift) and only once: the accepted time step is stored and
 * codes of that step or earlier are refused afterwards (replay protection).
 */

export const TOTP_ISSUER = 'flowguard';
const PERIOD_SECONDS = 30;

export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The `otpauth://totp/...` URI an authenticator app reads (as a QR code or typed in). */
export function totpUri(secret: string, label: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label, secret, period: PERIOD_SECONDS, digits: 6 });
}

/** The accepted time step, or undefined for a wrong, malformed, stale or replayed code. */
export async function verifyTotp(
  secret: string,
  code: string,
  now: Date,
  lastStep: number | undefined,
): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  try {
    const result = await verify({
      secret,
      token: code,
      epoch: Math.floor(now.getTime() / 1000),
      epochTolerance: PERIOD_SECONDS,
      ...(lastStep !== undefined ? { afterTimeStep: lastStep } : {}),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : undefined;
  } catch {
    return undefined;
  }
}
