import { z } from 'zod';

/**
 * The typed catalog of audit events. Each event's `data` is a strict zod object whose leaves are only ids
 * (UUIDs), configuration codes (data-map system ids, flow purposes), counts, durations, enums and booleans:
 * nothing that can hold a phone number, a name, a message or a token. A unit test walks every schema and fails
 * on a field named like personal data or a leaf of any other kind. This file imports nothing from src/modules.
 */

/** A row id: a UUID. */
const id = () => z.uuid();
/** A non-negative safe integer. */
const count = () => z.number().int().nonnegative();
/** Milliseconds, as a non-negative integer (integers survive jsonb unchanged, so the hash chain stays stable). */
const durationMs = () => z.number().int().nonnegative();
const flag = () => z.boolean();
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values);
/**
 * A configuration code chosen by the operator (data-map system id, flow purpose): starts with a letter,
 * lowercase, at most 63 characters and never a run of six digits, so a phone number cannot pass as one.
 */
export const CODE_PATTERN = /^(?!.*\d{6})[a-z][a-z0-9_-]{0,62}$/;
const code = () => z.string().regex(CODE_PATTERN);

export const ACTOR_TYPES = ['system', 'subject', 'api_key', 'admin', 'cli'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

const REQUEST_TYPES = ['erasure', 'access', 'rectification', 'opt_out', 'restriction'] as const;
const REQUEST_CHANNELS = [
  'flow',
  'webhook',
  'api',
  'cli',
  'admin',
  'meta_callback',
  'keyword',
  'preference',
] as const;
const VERIFICATION_METHODS = [
  'flow_token',
  'signed_webhook',
  'whatsapp_confirmation',
  'meta_signed_request',
  'not_required',
  /** A privacy officer verified the person by other means and approved the request (with a recorded reason). */
  'staff_approval',
] as const;
const REFUSAL_REASONS = [
  'sender_mismatch',
  'unverified',
  'confirmation_expired',
  'duplicate',
  'invalid_scope',
  'unknown_subject',
  'rate_limited',
  'manifestly_unfounded',
] as const;
const FAILURE_REASONS = [
  'system_error',
  'dead_lettered',
  'deadline_missed',
  'verification_timeout',
  'cancelled',
] as const;
const REGIMES = ['gdpr', 'ccpa'] as const;
/** Why a deadline was extended (GDPR Art. 12(3): complexity and number of requests; CCPA 11 CCR 7021). */
const EXTENSION_REASONS = ['complexity', 'number_of_requests', 'awaiting_information'] as const;
/** Why a request was denied (GDPR Art. 12(5): manifestly unfounded or excessive; Art. 12(6)/11 CCR 7062: identity). */
const DENIAL_REASONS = ['manifestly_unfounded', 'excessive', 'identity_not_verified'] as const;
const ERASURE_SCOPES = [
  'all',
  'profile',
  'messages',
  'flow_responses',
  'media',
  'delivery_statuses',
] as const;
/** What the own-store erasure counts (closed set of constants; they name what was counted, never hold it). */
const OWN_STORE_ITEMS = [
  'identities',
  'profile_name',
  'messages',
  'flow_responses',
  'media',
  'media_files',
  'delivery_statuses',
  'flow_tokens',
  'pending_forwards',
  'data_key',
] as const;
const SYSTEM_ACTIONS = [
  'deleted',
  'masked',
  'exported',
  'rectified',
  'verified',
  'not_found',
  'skipped',
  'failed',
  'retained',
  'reported',
  'pending',
] as const;
const OPTOUT_SOURCES = ['stop_keyword', 'user_preferences', 'flow', 'api', 'cli', 'admin'] as const;
const EXPORT_FORMATS = ['json', 'csv', 'zip'] as const;
const RECTIFIABLE_FIELDS = ['profile_name', 'phone', 'bsuid', 'marketing_preference', 'custom'] as const;
const ADMIN_RESOURCES = [
  'request',
  'subject',
  'export',
  'audit_log',
  'dead_letter',
  'api_key',
  'tenant',
  'proof_report',
  'admin_user',
  'retention',
] as const;
const ADMIN_ACTIONS = ['view', 'download', 'retry', 'list', 'run'] as const;
const API_KEY_ROLES = ['service', 'admin'] as const;
const ADMIN_ROLES = ['owner', 'privacy_officer', 'operator', 'auditor'] as const;
/** How staff verified a person before approving a request they had not confirmed in WhatsApp. */
const APPROVAL_REASONS = [
  'verified_in_person',
  'verified_by_document',
  'verified_by_callback',
  'authorized_agent',
] as const;
const LOGIN_OUTCOMES = ['succeeded', 'failed'] as const;
/** Attempts refused while locked are not recorded one by one (a flood would only lengthen the chain). */
const LOGIN_FAILURES = ['invalid_credentials', 'disabled'] as const;
/** `password`: an admin without an authenticator yet signed in to enrol one (an enrolment-only session). */
const MFA_METHODS = ['totp', 'recovery_code', 'password'] as const;

/** What a retention sweep removes from flowguard's own store (README "Retention"; names, never values). */
const RETENTION_ITEMS = [
  'flow_responses',
  'messages',
  'message_content',
  'media',
  'delivery_statuses',
  'inactive_contacts',
  'processed_events',
  'flow_tokens',
  'pending_forwards',
  'request_records',
  'request_exports',
  'audit_log',
  'outbound_notifications',
  'alerts_sent',
  'erased_identities',
  'admin_sessions',
  'login_throttle',
  'erasure_journal',
  'key_store_journal',
] as const;

/** HMAC keys whose version can change (`keys new-hmac-version`). */
const HMAC_PURPOSES = ['blind-index', 'audit-subject', 'event-id'] as const;

/** What a tenant's offboarding removed from flowguard's own store (names of tables, never values). */
const OFFBOARD_ITEMS = [
  'subjects',
  'identities',
  'messages',
  'flow_responses',
  'media',
  'delivery_statuses',
  'flow_tokens',
  'pending_forwards',
  'suppressions',
  'processed_events',
  'outbound_notifications',
  'erased_identities',
  'request_exports',
  'api_keys',
  'data_keys',
] as const;

const data = <S extends z.core.$ZodLooseShape>(shape: S) => z.strictObject(shape);

export const auditCatalog = {
  'webhook.ingested': data({
    inbound: count(),
    statuses: count(),
    flow_completions: count().optional(),
    identity_updates: count().optional(),
    preferences: count().optional(),
    unsupported: count().optional(),
    duplicates: count().optional(),
    rejected: count().optional(),
  }),
  'subject.created': data({ channel: oneOf(REQUEST_CHANNELS), identities: count() }),
  'flow_token.issued': data({ purpose: code(), ttl_ms: durationMs() }),
  'api_key.created': data({ api_key_id: id(), role: oneOf(API_KEY_ROLES) }),
  'tenant.created': data({
    regimes: z.array(oneOf(REGIMES)).optional(),
    conversation_archive: flag().optional(),
  }),
  'optout.recorded': data({ source: oneOf(OPTOUT_SOURCES), identities: count().optional() }),
  'request.received': data({
    type: oneOf(REQUEST_TYPES),
    channel: oneOf(REQUEST_CHANNELS),
    scope: oneOf(ERASURE_SCOPES).optional(),
    regime: oneOf(REGIMES).optional(),
  }),
  /** A new request for something already open was joined to the open one (no duplicate work). */
  'request.joined': data({ channel: oneOf(REQUEST_CHANNELS) }),
  'request.verified': data({ method: oneOf(VERIFICATION_METHODS) }),
  'request.refused': data({ reason: oneOf(REFUSAL_REASONS) }),
  'request.completed': data({
    type: oneOf(REQUEST_TYPES).optional(),
    systems: count(),
    duration_ms: durationMs(),
  }),
  'request.failed': data({ reason: oneOf(FAILURE_REASONS), failed_systems: count() }),
  'request.extended': data({
    regime: oneOf(REGIMES),
    extra_days: count(),
    notified: flag(),
    reason: oneOf(EXTENSION_REASONS).optional(),
  }),
  'request.denied': data({ reason: oneOf(DENIAL_REASONS), notified: flag() }),
  'erasure.own_store': data({
    scope: oneOf(ERASURE_SCOPES),
    counts: z.partialRecord(oneOf(OWN_STORE_ITEMS), count()),
    duration_ms: durationMs().optional(),
  }),
  'erasure.system': data({
    system_id: code(),
    action: oneOf(SYSTEM_ACTIONS),
    rows: count(),
    duration_ms: durationMs().optional(),
  }),
  'export.generated': data({
    format: oneOf(EXPORT_FORMATS),
    systems: count(),
    bytes: count().optional(),
    duration_ms: durationMs().optional(),
  }),
  'rectification.applied': data({ fields: z.array(oneOf(RECTIFIABLE_FIELDS)).min(1), systems: count() }),
  'admin.access': data({ resource: oneOf(ADMIN_RESOURCES), action: oneOf(ADMIN_ACTIONS) }),
  /** A staff member verified the person another way and let an unconfirmed request go ahead. */
  'request.approved': data({ reason: oneOf(APPROVAL_REASONS) }),
  /** An admin sign-in (or a second-factor step-up): failed attempts carry whether they locked something. */
  'admin.login': data({
    outcome: oneOf(LOGIN_OUTCOMES),
    reason: oneOf(LOGIN_FAILURES).optional(),
    method: oneOf(MFA_METHODS).optional(),
    step_up: flag().optional(),
    /** The enrolment of an authenticator: its sign-in (password) and its confirmation (the first code). */
    enrolment: flag().optional(),
    locked: flag().optional(),
    recovery_codes_left: count().optional(),
  }),
  'admin.logout': data({}),
  'admin_user.created': data({
    admin_id: id(),
    role: oneOf(ADMIN_ROLES),
    global: flag(),
    /** false: the admin enrols an authenticator at the first sign-in. */
    mfa_enrolled: flag().optional(),
  }),
  /** An authenticator confirmed with its first code; fresh recovery codes issued (how many). */
  'admin_user.mfa_enrolled': data({ admin_id: id(), recovery_codes: count() }),
  /** An owner (or the CLI) removed an admin's authenticator and recovery codes: enrolment at the next sign-in. */
  'admin_user.mfa_reset': data({ admin_id: id(), sessions_ended: count(), recovery_codes_removed: count() }),
  /** An admin replaced its own recovery codes (the old ones stop working). */
  'admin_user.recovery_codes_regenerated': data({ admin_id: id(), recovery_codes: count() }),
  'admin_user.disabled': data({ admin_id: id(), sessions_ended: count() }),
  'api_key.revoked': data({ api_key_id: id() }),
  /** A retention sweep (storage limitation, GDPR Art. 5(1)(e)): rows removed per category, not who they were. */
  'retention.swept': data({
    counts: z.partialRecord(oneOf(RETENTION_ITEMS), count()),
    system_rows: count().optional(),
    complete: flag(),
    duration_ms: durationMs(),
  }),
  /** A prefix of this chain past its legal period was deleted; the checkpoint keeps its last seq and hash. */
  'audit.archived': data({ through_seq: count(), rows: count() }),
  /** A new version of an HMAC key: new values use it from `active_in_ms` on; lookups search every held one. */
  'keys.hmac_version_started': data({
    purpose: oneOf(HMAC_PURPOSES),
    version: code(),
    active_in_ms: durationMs(),
  }),
  /** `keys reindex-hmac`: rows moved to the current version of an HMAC key (counts, never values). */
  'keys.hmac_reindexed': data({
    purpose: oneOf(HMAC_PURPOSES),
    version: code(),
    rows: count(),
    complete: flag(),
  }),
  /** An old version of an HMAC key destroyed: references made under it are anonymous from now on. */
  'keys.hmac_version_retired': data({ purpose: oneOf(HMAC_PURPOSES), version: code(), forgotten: count() }),
  /** After a database restore, people the key store's erasure journal lists were erased again. */
  'erasure.replayed': data({ subjects: count(), requests_closed: count(), notifications_dropped: count() }),
  /** `tenant delete` began: routing cut, an erasure request per subject follows. */
  'tenant.offboarding_started': data({ counts: z.partialRecord(oneOf(OFFBOARD_ITEMS), count()) }),
  /** The tenant's row went; only legally retained records and this PII-free trail remain. */
  'tenant.deleted': data({
    counts: z.partialRecord(oneOf(OFFBOARD_ITEMS), count()),
    requests: count(),
    systems: count(),
    duration_ms: durationMs(),
  }),
} as const;

export type AuditCatalog = typeof auditCatalog;
export type AuditEventType = keyof AuditCatalog;
export type AuditEventData<T extends AuditEventType> = z.input<AuditCatalog[T]>;
export const AUDIT_EVENT_TYPES = Object.keys(auditCatalog) as AuditEventType[];

export function isAuditEventType(value: string): value is AuditEventType {
  return Object.hasOwn(auditCatalog, value);
}
