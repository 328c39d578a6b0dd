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
] as const;
const ADMIN_ACTIONS = ['view', 'download', 'retry', 'list'] as const;
const API_KEY_ROLES = ['service', 'admin'] as const;

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
} as const;

export type AuditCatalog = typeof auditCatalog;
export type AuditEventType = keyof AuditCatalog;
export type AuditEventData<T extends AuditEventType> = z.input<AuditCatalog[T]>;
export const AUDIT_EVENT_TYPES = Object.keys(auditCatalog) as AuditEventType[];

export function isAuditEventType(value: string): value is AuditEventType {
  return Object.hasOwn(auditCatalog, value);
}
