import type { Kysely } from 'kysely';
import type { AppContext } from '../../app/context.js';
import type { DB, PrivacyRequestType } from '../../lib/db/schema.js';
import type { Identity } from '../../lib/phone.js';
import type { Tenant } from '../tenants/index.js';
import type { AuditEvent } from '../audit/index.js';

export type RequestChannel =
  'flow' | 'webhook' | 'api' | 'cli' | 'admin' | 'meta_callback' | 'keyword' | 'preference';

/** How the person was verified: by possession of their WhatsApp session, or by confirming in WhatsApp. */
export type VerificationMethod =
  | 'flow_token'
  | 'signed_webhook'
  | 'whatsapp_confirmation'
  | 'meta_signed_request'
  | 'not_required'
  | 'staff_approval';

/**
 * `externalRef`: a person flowguard holds no WhatsApp identity for, known only by a keyed reference from
 * another channel (Meta's app-scoped user id in the data deletion callback); nothing of theirs is in the own store.
 * A new request is recorded under `externalRef` (the current key versions); `externalRefs` is the same person's
 * reference under every held key version, what finding their open request must accept.
 */
export type RequestSubject =
  { subjectId: string } | { identity: Identity } | { externalRef: string; externalRefs: string[] };

export interface Actor {
  type: 'system' | 'subject' | 'api_key' | 'admin' | 'cli';
  id?: string | undefined;
}

export interface CreateRequestInput {
  tenant: Tenant;
  type: PrivacyRequestType;
  scope?: string | undefined;
  channel: RequestChannel;
  subject: RequestSubject;
  /** Set when the channel itself proves the person made the request; otherwise the person must confirm. */
  verification: VerificationMethod | null;
  params?: Record<string, unknown> | undefined;
  actor: Actor;
}

/** Writes one audit event inside the caller's transaction (the one that makes the change). */
export type AppendAudit = (tx: Kysely<DB>, event: AuditEvent) => Promise<unknown>;

export type DsrDeps = Pick<
  AppContext,
  'keyring' | 'subjects' | 'subjectKeys' | 'queue' | 'clock' | 'logger' | 'config'
> & {
  tenants: Pick<AppContext['tenants'], 'get'>;
  audit: AppendAudit;
};
