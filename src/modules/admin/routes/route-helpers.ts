import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../../../lib/errors.js';
import type { AdminDeps } from '../admin.types.js';
import { clearedCookies, isSecureRequest, sessionCookies } from '../session-cookie.js';
import type { NewSession } from '../sessions.js';
import { SESSION_IDLE_MS } from '../sessions.js';
import { signOut, type SessionHolder } from '../sign-out.js';

/** Run a throttled use case; a 429 carries `Retry-After` with the seconds left of the lock. */
export async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isAppError(err, 'RATE_LIMITED')) void reply.header('retry-after', String(err.details.retry_after));
    throw err;
  }
}

/** Set the cookies of a new session (Max-Age: its absolute lifetime) and describe it. */
export function sendSession(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AdminDeps, 'config'>,
  session: NewSession,
): { csrf_token: string; expires_at: string; idle_timeout_seconds: number } {
  const secure = isSecureRequest(req, deps.config.server.publicUrl);
  void reply.header(
    'set-cookie',
    sessionCookies(session.id, session.csrfToken, session.lifetimeSeconds, secure),
  );
  return {
    csrf_token: session.csrfToken,
    expires_at: session.expiresAt.toISOString(),
    idle_timeout_seconds: SESSION_IDLE_MS / 1000,
  };
}

/** End the caller's session (`admin.logout`) and clear its cookies: sign-out, or giving up an enrolment. */
export async function sendSignOut(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AdminDeps, 'database' | 'clock' | 'audit' | 'config'>,
  principal: SessionHolder,
): Promise<{ signed_out: true }> {
  const out = await signOut(deps, principal);
  void reply.header('set-cookie', clearedCookies(isSecureRequest(req, deps.config.server.publicUrl)));
  return out;
}
