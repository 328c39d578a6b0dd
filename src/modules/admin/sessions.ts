import type { Kysely } from 'kysely';
import { hashToken, randomToken } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';

/**
 * Admin sessions: a random 256-bit id in an HttpOnly cookie, stored only as its SHA-256; a CSRF token bound to
 * the session (stored hashed, sent back in `X-CSRF-Token` on every state-changing request). A session ends 30
 * minutes after its last use (idle) and 12 hours after sign-in (absolute), whichever is first. A session exists
 * only after both factors were shown; routes that change who may do what also need the second factor shown in
 * the last 15 minutes (step-up).
 */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 3600_000;
export const MFA_FRESH_MS = 15 * 60_000;
/** An enrolment session (password shown, authenticator not yet confirmed) lasts at most this long. */
export const ENROLMENT_SESSION_MS = 15 * 60_000;
/** `last_seen_at` is written at most this often per session (idle expiry stays accurate to a minute). */
const TOUCH_MS = 60_000;

export interface NewSession {
  id: string;
  csrfToken: string;
  expiresAt: Date;
  /** The session's absolute lifetime: the cookies' Max-Age. */
  lifetimeSeconds: number;
}

/**
 * A new session of a user. `enrolment`: the user has shown the password but has no authenticator yet: the
 * session may only enrol one (every other route is 403 MFA_ENROLMENT_REQUIRED) and ends after 15 minutes.
 */
export async function startSession(
  tx: Kysely<DB>,
  userId: string,
  now: Date,
  opts: { enrolment?: boolean } = {},
): Promise<NewSession> {
  const id = randomToken(32);
  const csrfToken = randomToken(32);
  const enrolment = opts.enrolment ?? false;
  const lifetime = enrolment ? ENROLMENT_SESSION_MS : SESSION_ABSOLUTE_MS;
  const expiresAt = new Date(now.getTime() + lifetime);
  await tx
    .insertInto('admin_sessions')
    .values({
      id_hash: hashToken(id),
      user_id: userId,
      csrf_hash: hashToken(csrfToken),
      created_at: now,
      last_seen_at: now,
      expires_at: expiresAt,
      mfa_at: now,
      ended_at: null,
      enrolment,
    })
    .execute();
  return { id, csrfToken, expiresAt, lifetimeSeconds: lifetime / 1000 };
}

export interface LiveSession {
  idHash: string;
  csrfHash: string;
  mfaAt: Date;
  expiresAt: Date;
  /** An enrolment-only session (see startSession). */
  enrolment: boolean;
  user: { id: string; role: string; tenantId: string | null; mfaEnrolled: boolean };
}

/** The live session behind a cookie value, touched; undefined when unknown, ended, expired or its user disabled. */
export async function findLiveSession(
  db: Kysely<DB>,
  cookieValue: string,
  now: Date,
): Promise<LiveSession | undefined> {
  if (cookieValue.length < 20 || cookieValue.length > 100) return undefined;
  const idHash = hashToken(cookieValue);
  const row = await db
    .selectFrom('admin_sessions as s')
    .innerJoin('admin_users as u', 'u.id', 's.user_id')
    .select([
      's.id_hash',
      's.csrf_hash',
      's.mfa_at',
      's.last_seen_at',
      's.expires_at',
      's.ended_at',
      's.enrolment',
      'u.id as user_id',
      'u.mfa_enrolled_at',
      'u.role',
      'u.tenant_id',
      'u.disabled_at',
    ])
    .where('s.id_hash', '=', idHash)
    .executeTakeFirst();
  if (!row || row.ended_at !== null || row.disabled_at !== null) return undefined;
  const lastSeen = new Date(row.last_seen_at);
  if (now >= new Date(row.expires_at) || now.getTime() - lastSeen.getTime() >= SESSION_IDLE_MS)
    return undefined;
  if (now.getTime() - lastSeen.getTime() >= TOUCH_MS) {
    await db.updateTable('admin_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }
  return {
    idHash,
    csrfHash: row.csrf_hash,
    mfaAt: new Date(row.mfa_at),
    expiresAt: new Date(row.expires_at),
    enrolment: row.enrolment,
    user: {
      id: row.user_id,
      role: row.role,
      tenantId: row.tenant_id,
      mfaEnrolled: row.mfa_enrolled_at !== null,
    },
  };
}

/** End one session (sign-out); true when it was live. */
export async function endSession(tx: Kysely<DB>, idHash: string, now: Date): Promise<boolean> {
  const r = await tx
    .updateTable('admin_sessions')
    .set({ ended_at: now })
    .where('id_hash', '=', idHash)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** End every live session of a user (disabled, MFA reset or enrolled); how many were live. */
export async function endUserSessions(tx: Kysely<DB>, userId: string, now: Date): Promise<number> {
  const r = await tx
    .updateTable('admin_sessions')
    .set({ ended_at: now })
    .where('user_id', '=', userId)
    .where('ended_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
