import type { Kysely } from 'kysely';
import type { AppContext } from '../../app/context.js';
import type { DB } from '../../lib/db/schema.js';
import type { AuditEvent } from '../audit/index.js';
import type { Actor, DsrDeps } from '../dsr/index.js';
import type { AdminRole } from './permissions.js';

/** Who is calling the admin API: a signed-in staff member (session cookie) or an `admin` API key. */
export type AdminPrincipal =
  | {
      kind: 'user';
      userId: string;
      role: AdminRole;
      /** undefined: a global admin (every tenant). */
      tenantId: string | undefined;
      session: { idHash: string; csrfHash: string; mfaAt: Date };
    }
  | { kind: 'api_key'; keyId: string; tenantId: string };

/**
 * A session that has shown the password of an admin without an authenticator: it may only enrol one
 * (`auth: 'enrolment'` routes); every other route refuses it.
 */
export interface EnrolmentPrincipal {
  kind: 'enrolment';
  userId: string;
  tenantId: string | undefined;
  session: { idHash: string; csrfHash: string; expiresAt: Date };
}

/** What the admin use cases need from the process. */
export type AdminDeps = Pick<
  AppContext,
  'database' | 'keyring' | 'clock' | 'tenants' | 'queue' | 'config' | 'logger'
> & {
  dsr: DsrDeps;
  /** Appends one audit event inside the caller's transaction. */
  audit: (tx: Kysely<DB>, event: AuditEvent) => Promise<unknown>;
};

export function actorOf(p: AdminPrincipal): Actor {
  return p.kind === 'user' ? { type: 'admin', id: p.userId } : { type: 'api_key', id: p.keyId };
}
