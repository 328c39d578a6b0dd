import type { FastifyRequest } from 'fastify';
import { hashToken, timingSafeEqualHex } from '../../lib/crypto/index.js';
import { AppError } from '../../lib/errors.js';
import { authenticateApiKey } from '../apikeys/index.js';
import type { AdminDeps, AdminPrincipal } from './admin.types.js';
import { isAdminRole } from './permissions.js';
import { readCookie, SESSION_COOKIE } from './session-cookie.js';
import { findLiveSession, MFA_FRESH_MS } from './sessions.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Who is calling: `Authorization: Bearer <API key>` (only keys with the `admin` role; a `service` key is 403),
 * else the session cookie (a live session of an enabled admin; every session has passed both factors).
 * Anything else is 401.
 */
export async function authenticateAdmin(
  req: FastifyRequest,
  deps: Pick<AdminDeps, 'database' | 'clock'>,
): Promise<AdminPrincipal> {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const match = BEARER.exec(header);
    if (!match?.[1]) throw new AppError('UNAUTHENTICATED', {}, 'sign in, or use an admin API key');
    const key = await authenticateApiKey({ db: deps.database.db, clock: deps.clock }, match[1]);
    if (key.role !== 'admin') throw new AppError('FORBIDDEN', { role: key.role }, 'role not allowed');
    return { kind: 'api_key', keyId: key.keyId, tenantId: key.tenantId };
  }
  const cookie = readCookie(req, SESSION_COOKIE);
  const session = cookie ? await findLiveSession(deps.database.db, cookie, deps.clock()) : undefined;
  if (!session || !isAdminRole(session.user.role)) {
    throw new AppError('UNAUTHENTICATED', {}, 'sign in first');
  }
  return {
    kind: 'user',
    userId: session.user.id,
    role: session.user.role,
    tenantId: session.user.tenantId ?? undefined,
    session: { idHash: session.idHash, csrfHash: session.csrfHash, mfaAt: session.mfaAt },
  };
}

/** State-changing requests of a session must carry its CSRF token in `X-CSRF-Token` (API keys carry no cookie). */
export function checkCsrf(req: FastifyRequest, principal: AdminPrincipal): void {
  if (principal.kind !== 'user') return;
  const token = req.headers['x-csrf-token'];
  if (
    typeof token !== 'string' ||
    token.length === 0 ||
    token.length > 200 ||
    !timingSafeEqualHex(hashToken(token), principal.session.csrfHash)
  ) {
    throw new AppError('FORBIDDEN', { reason: 'csrf' }, 'missing or wrong X-CSRF-Token');
  }
}

/** Routes that change who may do what need the second factor shown in the last 15 minutes. */
export function checkMfaFresh(principal: AdminPrincipal, now: Date): void {
  if (principal.kind !== 'user') return;
  if (now.getTime() - principal.session.mfaAt.getTime() > MFA_FRESH_MS) {
    throw new AppError('MFA_REQUIRED', {}, 'show your second factor again: POST /admin/api/session/mfa');
  }
}
