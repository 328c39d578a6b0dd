/**
 * The admin API client. The session cookie is HttpOnly (the page never sees it); the CSRF token from sign-in
 * is kept in memory and, to survive a reload, read back from the readable `fg_admin_csrf` cookie. It is sent
 * as X-CSRF-Token on every state-changing call.
 */

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

export interface Me {
  kind: 'user' | 'api_key';
  id: string;
  email: string | null;
  role: string;
  tenant: string | null;
  permissions: string[];
  /** Until when decisions that need a fresh second factor (approve) go through without a code. */
  mfa_fresh_until: string | null;
}

/** The authenticator to enrol (an enrolment session only). */
export interface Enrolment {
  otpauth_uri: string;
  secret: string;
  issuer: string;
  account: string;
  digits: number;
  period: number;
  expires_at: string;
}

export interface RequestSummary {
  id: string;
  reference: string;
  tenant: string;
  type: string;
  scope: string;
  channel: string;
  status: string;
  received_at: string;
  due_at: string;
  overdue: boolean;
  extended: boolean;
  completed_at: string | null;
}

export interface RequestDetail extends RequestSummary {
  regime: string;
  verification: string | null;
  verified_at: string | null;
  error_code: string | null;
  systems: {
    id: string;
    action: string;
    status: string;
    attempts: number;
    counts: Record<string, number>;
    last_error: string | null;
    completed_at: string | null;
  }[];
  events: {
    seq: number;
    event_type: string;
    occurred_at: string;
    actor_type: string;
    data: Record<string, unknown>;
  }[];
}

export interface DeadLetter {
  id: string;
  queue: string;
  data: Record<string, unknown>;
  created_at: string;
}

export interface Summary {
  window_days: number;
  totals: { received: number; completed: number; failed: number; open: number; overdue: number };
  completion_rate: number | null;
  deletion_latency_seconds: { p50: number | null; p99: number | null; count: number };
  trust_coefficient: number | null;
  per_day: {
    date: string;
    received: number;
    completed: number;
    failed: number;
    completion_rate: number | null;
    deletion_p50_seconds: number | null;
    deletion_p99_seconds: number | null;
  }[];
}
