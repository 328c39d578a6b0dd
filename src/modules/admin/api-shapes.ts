import type { RequestEvent, RequestView } from '../dsr/request-shapes.js';
import type { Permission } from './permissions.js';

/**
 * What the admin API answers with, where the dashboard (web/) reads it too: one declaration for the use case
 * that builds the answer and the screen that shows it. Types only, from leaf modules (the request shapes and the
 * permission list import nothing), so the dashboard's type-check and bundle stay free of server code.
 */

export type { RequestSummary } from '../dsr/request-shapes.js';
export type { Permission } from './permissions.js';

/** The caller: who, which role and tenant, and what it may do. */
export interface Me {
  kind: 'user' | 'api_key';
  id: string;
  email: string | null;
  role: string;
  tenant: string | null;
  permissions: Permission[];
  /** Until when routes that need a fresh second factor are open without a step-up (sessions only). */
  mfa_fresh_until: string | null;
}

/** The authenticator to enrol, shown to an enrolment session only. */
export interface Enrolment {
  otpauth_uri: string;
  /** The base32 key, for authenticator apps that cannot scan. */
  secret: string;
  issuer: string;
  account: string;
  algorithm: 'SHA1';
  digits: 6;
  period: 30;
  /** When the enrolment session ends (sign in again for a new secret). */
  expires_at: string;
}

/** One request, its per-system tasks and its audit timeline (events in order, across systems). */
export type RequestDetail = RequestView & { tenant: string; events: RequestEvent[] };

interface DaySummary {
  date: string;
  received: number;
  completed: number;
  failed: number;
  completion_rate: number | null;
  deletion_p50_seconds: number | null;
  deletion_p99_seconds: number | null;
}

export interface ComplianceSummary {
  tenant: string | null;
  generated_at: string;
  window_days: number;
  totals: { received: number; completed: number; failed: number; open: number; overdue: number };
  /** completed / (completed + failed), all time; null before anything finished. */
  completion_rate: number | null;
  /** Erasures from receipt to own-store purge (the request's completion), all time. */
  deletion_latency_seconds: { p50: number | null; p99: number | null; count: number };
  /** Flow completions per erasure request; null before the first erasure request. */
  trust_coefficient: number | null;
  flow_completions: number;
  erasure_requests: number;
  /** The last `window_days` UTC days, oldest first, zero-filled: for the dashboard's charts. */
  per_day: DaySummary[];
}
