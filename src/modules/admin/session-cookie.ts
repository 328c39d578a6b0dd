import type { FastifyRequest } from 'fastify';

/**
 * The session cookie: `fg_admin_session`, HttpOnly, SameSite=Strict, Path=/admin (the dashboard and its API
 * only), Max-Age the absolute session lifetime (the server enforces idle expiry). Secure whenever the request
 * reached flowguard over HTTPS: its own TLS, or a proxy that says so in X-Forwarded-Proto (the HTTP server
 * trusts proxy headers), or a configured public URL that is https. On plain http://localhost it is not Secure,
 * or browsers would drop it. No `__Host-` prefix: that requires Path=/ and Secure.
 * Next to it, `fg_admin_csrf` (readable by the page's script, same attributes otherwise) holds the CSRF token so
 * the dashboard survives a reload; the server compares the `X-CSRF-Token` header with the hash stored on the
 * session, so the cookie alone proves nothing (double submit, bound to the session).
 */
export const SESSION_COOKIE = 'fg_admin_session';
export const CSRF_COOKIE = 'fg_admin_csrf';
const PATH = '/admin';

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function isSecureRequest(req: FastifyRequest, publicUrl: string | undefined): boolean {
  return req.protocol === 'https' || (publicUrl?.startsWith('https:') ?? false);
}

function cookie(
  name: string,
  value: string,
  maxAgeSeconds: number,
  httpOnly: boolean,
  secure: boolean,
): string {
  return [
    `${name}=${value}`,
    `Path=${PATH}`,
    `Max-Age=${maxAgeSeconds}`,
    'SameSite=Strict',
    ...(httpOnly ? ['HttpOnly'] : []),
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookies(
  sessionId: string,
  csrfToken: string,
  maxAgeSeconds: number,
  secure: boolean,
): string[] {
  return [
    cookie(SESSION_COOKIE, sessionId, maxAgeSeconds, true, secure),
    cookie(CSRF_COOKIE, csrfToken, maxAgeSeconds, false, secure),
  ];
}

export function clearedCookies(secure: boolean): string[] {
  return [cookie(SESSION_COOKIE, '', 0, true, secure), cookie(CSRF_COOKIE, '', 0, false, secure)];
}
