import type { FastifyRequest } from 'fastify';
import { hashToken, timingSafeEqualHex } from '../../lib/crypto/index.js';
import { AppError } from '../../lib/errors.js';
import { authenticateApiKey } from '../apikeys/index.js';
import type { AdminDeps, AdminPrincipal, EnrolmentPrincipal } from './admin.types.js';
import { isAdminRole } from './permissions.js';
import { readCookie, SESSION_COOKIE } from './session-cookie.js';
import { findLiveSession, MFA_FRESH_MS } from './sessions.js';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Who is calling: `Authorization: Bearer <API key>` (only keys with the `admin` role; a `service` key is 403),
 * else the session cookie (a live session of an enabled admin; every such session has passed both factors).
 * An enrolment session (password only, no authenticator yet) is 403 MFA_ENROLMENT_REQUIRED; anything else 401.
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
  const session = await liveSession(req, deps);
  if (session.enrolment) {
    throw new AppError(
      'MFA_ENROLMENT_REQUIRED',
      {},
      'enrol your authenticator first: GET /admin/api/session/enrolment',
    );
  }
  // A full session outlives no MFA reset (the reset ends it); refuse one anyway if the user has no authenticator.
  if (!session.user.mfaEnrolled) throw new AppError('UNAUTHENTICATED', {}, 'sign in first');
  return {
    kind: 'user',
    userId: session.user.id,
    role: session.role,
    tenantId: session.user.tenantId ?? undefined,
    session: { idHash: session.idHash, csrfHash: session.csrfHash, mfaAt: session.mfaAt },
  };
}

async function liveSession(req: FastifyRequest, deps: Pick<AdminDeps, 'database' | 'clock'>) {
  const cookie = readCookie(req, SESSION_COOKIE);
  const session = cookie ? await findLiveSession(deps.database.db, cookie, deps.clock()) : undefined;
  const role = session?.user.role;
  if (!session || !isAdminRole(role)) throw new AppError('UNAUTHENTICATED', {}, 'sign in first');
  return { ...session, role };
}

/**
 * The enrolment session behind the cookie, for the enrolment routes only. An API key (nothing to enrol) or a
 * full session (already enrolled) is 403; no live session is 401.
 */
export async function authenticateEnrolment(
  req: FastifyRequest,
  deps: Pick<AdminDeps, 'database' | 'clock'>,
): Promise<EnrolmentPrincipal> {
  if (typeof req.headers.authorization === 'string') {
    throw new AppError('FORBIDDEN', { reason: 'enrolment' }, 'an API key has no authenticator to enrol');
  }
  const session = await liveSession(req, deps);
  if (!session.enrolment || session.user.mfaEnrolled) {
    throw new AppError('FORBIDDEN', { reason: 'enrolled' }, 'this session has no authenticator to enrol');
  }
  return {
    kind: 'enrolment',
    userId: session.user.id,
    tenantId: session.user.tenantId ?? undefined,
    session: { idHash: session.idHash, csrfHash: session.csrfHash, expiresAt: session.expiresAt },
  };
}

/** State-changing requests of a session must carry its CSRF token in `X-CSRF-Token` (API keys carry no cookie). */
export function checkCsrf(req: FastifyRequest, principal: AdminPrincipal | EnrolmentPrincipal): void {
  if (principal.kind === 'api_key') return;
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
