/**
 * The admin API client. The session cookie is HttpOnly (the page never sees it); the CSRF token from sign-in
 * is kept in memory and, to survive a reload, read back from the readable `fg_admin_csrf` cookie. It is sent
 * as X-CSRF-Token on every state-changing call.
 */

/** The answers' shapes and the request vocabulary, declared once beside the server code that produces them. */
export type {
  ComplianceSummary,
  Enrolment,
  Me,
  Permission,
  RequestDetail,
  RequestSummary,
} from '../../src/modules/admin/api-shapes.js';
export { REQUEST_STATUSES, REQUEST_TYPES } from '../../src/modules/dsr/request-shapes.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The error's `reason` detail, where it has one (`code`: a wrong second-factor code). */
    readonly reason?: string,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
let onUnauthenticated: () => void = () => {};

export function setCsrf(token: string | null): void {
  csrf = token;
}
export function whenSignedOut(fn: () => void): void {
  onUnauthenticated = fn;
}

function csrfToken(): string | null {
  if (csrf) return csrf;
  const m = /(?:^|;\s*)fg_admin_csrf=([^;]+)/.exec(document.cookie);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) headers['x-csrf-token'] = token;
  }
  const res = await fetch(`/admin/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await res.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string; reason?: string };
  };
  if (!res.ok) {
    const code = data.error?.code ?? `HTTP_${res.status}`;
    // A wrong code at sign-in, step-up or enrolment, or a second factor that is not fresh, keeps the session.
    if (res.status === 401 && !path.startsWith('/session') && code !== 'MFA_REQUIRED') {
      csrf = null;
      onUnauthenticated();
    }
    throw new ApiError(res.status, code, data.error?.message ?? res.statusText, data.error?.reason);
  }
  return data as T;
}

/**
 * End this session (sign-out, or giving up an enrolment) whatever the server answers: the page forgets the CSRF
 * token either way.
 */
export async function endSession(path: '/session' | '/session/enrolment'): Promise<void> {
  await api('DELETE', path).catch(() => undefined);
  csrf = null;
}

export interface DeadLetter {
  id: string;
  queue: string;
  data: Record<string, unknown>;
  created_at: string;
}
