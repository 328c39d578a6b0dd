/**
 * Admin users, their sessions and recovery codes, and the sign-in throttle (issue 6).
 * - admin_users: the e-mail is stored sealed (tenant-secrets key, AAD admin_users.email.<id>) and found by a
 *   keyed HMAC (`email_index`); the password as an argon2id PHC string; the TOTP secret sealed
 *   (admin_users.totp_secret.<id>), with the last accepted time step so a code works once. tenant_id null = a
 *   global admin (every tenant).
 * - admin_recovery_codes: SHA-256 of each random one-time code; used_at set when it is spent.
 * - admin_sessions: the SHA-256 of the cookie's random id and of its CSRF token; idle and absolute expiry are
 *   checked against last_seen_at and expires_at; mfa_at is when the second factor was last shown.
 * - admin_login_throttle: failures per account (keyed hash of the e-mail, known or not) and per client address
 *   (keyed hash), with a lockout time: shared by every instance through the database.
 */
export const up = /* sql */ `
create table admin_users (
  id uuid primary key,
  tenant_id text references tenants(id) on delete cascade,
  email_index text not null unique,
  email text not null,
  role text not null check (role in ('owner', 'privacy_officer', 'operator', 'auditor')),
  password_hash text not null,
  totp_secret text not null,
  totp_last_step bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_login_at timestamptz,
  disabled_at timestamptz
);
create index admin_users_tenant on admin_users (tenant_id);

create table admin_recovery_codes (
  user_id uuid not null references admin_users(id) on delete cascade,
  code_hash text not null,
  used_at timestamptz,
  primary key (user_id, code_hash)
);

create table admin_sessions (
  id_hash text primary key,
  user_id uuid not null references admin_users(id) on delete cascade,
  csrf_hash text not null,
  created_at timestamptz not null,
  last_seen_at timestamptz not null,
  expires_at timestamptz not null,
  mfa_at timestamptz not null,
  ended_at timestamptz
);
create index admin_sessions_user on admin_sessions (user_id);
create index admin_sessions_expiry on admin_sessions (expires_at);

create table admin_login_throttle (
  scope text not null check (scope in ('account', 'source')),
  key text not null,
  failures integer not null default 0,
  window_started_at timestamptz not null,
  locked_until timestamptz,
  primary key (scope, key)
);
`;
