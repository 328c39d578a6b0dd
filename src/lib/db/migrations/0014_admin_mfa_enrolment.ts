/**
 * TOTP enrolment at sign-in (issue 6).
 * - admin_users.mfa_enrolled_at: when the admin confirmed an authenticator with a code. Null while an enrolment
 *   is pending (created with "enrol at sign-in", or after an owner reset the MFA): the password then opens only
 *   an enrolment session, and `totp_secret` holds the secret being enrolled (sealed, as before). Admins that
 *   exist already were enrolled by `admin create` (the URI it printed), so they count as enrolled since their
 *   creation; a row inserted without the column is enrolled too (the old contract).
 * - admin_sessions.enrolment: a session that may only enrol the authenticator (no other route), short-lived.
 */
export const up = /* sql */ `
alter table admin_users add column mfa_enrolled_at timestamptz;
update admin_users set mfa_enrolled_at = created_at;
alter table admin_users alter column mfa_enrolled_at set default now();
alter table admin_sessions add column enrolment boolean not null default false;
`;
