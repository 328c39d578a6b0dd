import type { ColumnType } from 'kysely';
import type { Timestamp } from './schema-columns.js';

/** The admin tables (users, recovery codes, sessions, sign-in throttle): see ./schema.ts. */

export interface AdminUsersTable {
  id: string;
  /** null: a global admin (every tenant). */
  tenant_id: string | null;
  /** Keyed HMAC of the normalised e-mail (lookup). */
  email_index: string;
  /** Sealed: admin_users.email.<id> */
  email: string;
  role: 'owner' | 'privacy_officer' | 'operator' | 'auditor';
  /** argon2id PHC string. */
  password_hash: string;
  /** Sealed base32 TOTP secret: admin_users.totp_secret.<id> */
  totp_secret: string;
  /** The last accepted TOTP time step (bigint, read as a string): a code is accepted once. */
  totp_last_step: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_login_at: Date | null;
  disabled_at: Date | null;
  /** When an authenticator was confirmed; null while enrolment is pending (`totp_secret` is then the pending one). */
  mfa_enrolled_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface AdminRecoveryCodesTable {
  user_id: string;
  code_hash: string;
  used_at: Date | null;
}

export interface AdminSessionsTable {
  /** SHA-256 of the random session id in the cookie. */
  id_hash: string;
  user_id: string;
  csrf_hash: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  mfa_at: Timestamp;
  ended_at: Date | null;
  /** A session that may only enrol the authenticator (password shown, no second factor yet). */
  enrolment: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface AdminLoginThrottleTable {
  scope: 'account' | 'source';
  key: string;
  failures: number;
  window_started_at: Timestamp;
  locked_until: Date | null;
}
