import type { ColumnType, Generated } from 'kysely';
import type {
  AdminLoginThrottleTable,
  AdminRecoveryCodesTable,
  AdminSessionsTable,
  AdminUsersTable,
} from './schema-admin.js';
import type { Json, Timestamp } from './schema-columns.js';
import type {
  AuditArchiveTable,
  ErasureJournalTable,
  JobClaimsTable,
  MediaDeletionsTable,
  RetentionLeaseTable,
  SchemaMigrationsTable,
} from './schema-operations.js';

/** Kysely's view of the tables created by the migrations in ./migrations. Encrypted columns hold `v1.` envelopes. */

export interface TenantsTable {
  id: string;
  name: string;
  phone_number_id: string | null;
  business_account_id: string | null;
  /** Sealed JSON of the tenant's secrets (app secret, verify token, access token, Flows private key). */
  secrets: string;
  settings: Json<Record<string, unknown>>;
  is_default: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Set when `tenant delete` started; the row goes when every request it made has settled. */
  offboarding_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface SubjectsTable {
  id: string;
  tenant_id: string;
  /** Encrypted: subjects.profile_name.<id> */
  profile_name: string | null;
  restricted: Generated<boolean>;
  marketing_opt_out: Generated<boolean>;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  created_at: Timestamp;
}

/** Legacy: keys now live in the key store (modules/keys); rows here are moved there at start-up. */
export interface SubjectKeysTable {
  subject_id: string;
  tenant_id: string;
  wrapped_key: string;
  master_version: string;
  created_at: Timestamp;
}

export interface IdentitiesTable {
  id: string;
  tenant_id: string;
  subject_id: string;
  kind: 'phone' | 'bsuid';
  blind_index: string;
  /** Encrypted: identities.value.<id> */
  value: string;
  created_at: Timestamp;
  /** Set when a user_id_update replaced this BSUID; it still resolves to the subject. */
  superseded_at: Date | null;
  /** The blind-index key version `blind_index` was computed under (`b1`, ...). */
  blind_index_version: Generated<string>;
}

export interface MessagesTable {
  id: string;
  tenant_id: string;
  subject_id: string;
  event_key: string;
  direction: 'inbound' | 'outbound';
  type: string;
  sent_at: Timestamp;
  /** Encrypted, only when the tenant stores message content: messages.content.<id> */
  content: string | null;
  created_at: Timestamp;
}

export interface FlowResponsesTable {
  id: string;
  tenant_id: string;
  subject_id: string;
  flow_token_id: string | null;
  /** Encrypted: flow_responses.response.<id> */
  response: string;
  received_at: Timestamp;
}

export interface MediaTable {
  id: string;
  tenant_id: string;
  subject_id: string;
  message_id: string | null;
  /** Encrypted Meta media id: media.media_ref.<id> */
  media_ref: string;
  mime_type: string | null;
  /** Encrypted: media.sha256.<id> */
  sha256: string | null;
  /** Encrypted: media.caption.<id> */
  caption: string | null;
  /** The stored file's object name (`<tenant>/<random id>`) when the tenant stores media (0011). */
  storage_key: string | null;
  received_at: Timestamp;
  /** Set when the encrypted file is complete in the media store; its plaintext size in bytes. */
  stored_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  stored_size: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface MessageStatusesTable {
  id: string;
  tenant_id: string;
  subject_id: string | null;
  event_key: string;
  status: string;
  error_code: number | null;
  status_at: Timestamp;
  created_at: Timestamp;
}

export interface ProcessedEventsTable {
  tenant_id: string;
  event_key: string;
  kind: string;
  processed_at: Timestamp;
}

export interface SuppressionsTable {
  tenant_id: string;
  kind: 'phone' | 'bsuid';
  blind_index: string;
  reason: string;
  created_at: Timestamp;
}

export interface FlowTokensTable {
  id: string;
  tenant_id: string;
  subject_id: string;
  token_hash: string;
  purpose: string;
  expires_at: Timestamp;
  used_at: Date | null;
  created_at: Timestamp;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  role: string;
  created_at: Timestamp;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface ForwardOutboxTable {
  id: Generated<string>;
  tenant_id: string;
  subject_id: string | null;
  target_index: number;
  conversation_key: string;
  /** Encrypted event body: under the subject's data key when there is a subject, else the tenant-secrets key. */
  body: string;
  created_at: Timestamp;
  delivered_at: Date | null;
  attempts: Generated<number>;
  last_error: string | null;
  /** The drain job delivering (or backing off on) this head row, and until when no other drain may take it. */
  lease_owner: string | null;
  lease_until: Date | null;
}

export type PrivacyRequestType = 'erasure' | 'access' | 'rectification' | 'opt_out' | 'restriction';
export type PrivacyRequestStatus =
  'received' | 'awaiting_verification' | 'verified' | 'executing' | 'completed' | 'failed' | 'denied';

export interface PrivacyRequestsTable {
  id: string;
  tenant_id: string;
  reference: string;
  type: PrivacyRequestType;
  scope: string;
  channel: string;
  status: PrivacyRequestStatus;
  subject_id: string | null;
  subject_ref: string;
  regime: string;
  verification: string | null;
  confirmation_hash: string | null;
  /** Sealed JSON of the person's identities while the request needs them (cleared when it ends). */
  identities: string | null;
  /** Encrypted under the subject's data key: privacy_requests.params.<id> */
  params: string | null;
  result: Json<Record<string, unknown>>;
  error_code: string | null;
  deny_reason: string | null;
  extension_reason: string | null;
  received_at: Timestamp;
  verified_at: Date | null;
  due_at: Timestamp;
  original_due_at: Timestamp;
  completed_at: Date | null;
  updated_at: Timestamp;
}

export interface RequestTasksTable {
  request_id: string;
  system_id: string;
  action: string;
  status: 'pending' | 'running' | 'done' | 'failed' | 'dead' | 'skipped';
  attempts: Generated<number>;
  counts: Json<Record<string, number>>;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  completed_at: Date | null;
  queued_at: Date | null;
}

export interface OutboundNotificationsTable {
  id: string;
  tenant_id: string;
  request_id: string | null;
  /** Sealed with the tenant-secrets key: outbound_notifications.recipient.<id> */
  recipient: string;
  kind: string;
  params: Json<Record<string, unknown>>;
  attempts: Generated<number>;
  created_at: Timestamp;
  /** When the relay queued the row's send job (notify-relay.ts); null until then. */
  queued_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** Append-only (a trigger refuses UPDATE/DELETE): no column can be updated through Kysely either. */
type AppendOnly<S, I = S> = ColumnType<S, I, never>;

export interface AuditLogTable {
  /** bigserial; pg returns it as a string. */
  seq: AppendOnly<string, string | number>;
  id: AppendOnly<string>;
  tenant_id: AppendOnly<string>;
  occurred_at: AppendOnly<Date, Date | string>;
  actor_type: AppendOnly<'system' | 'subject' | 'api_key' | 'admin' | 'cli'>;
  actor_id: AppendOnly<string | null>;
  event_type: AppendOnly<string>;
  /** HMAC-SHA256 of the subject under the audit key of `key_version`; never a plain hash. */
  subject_ref: AppendOnly<string | null>;
  key_version: AppendOnly<string>;
  request_id: AppendOnly<string | null>;
  data: AppendOnly<Record<string, unknown>, string>;
  prev_hash: AppendOnly<string>;
  hash: AppendOnly<string>;
}

/** The checkpoint of the audit chain's tail, one row, written in the same transaction as every append. */
export interface AuditHeadTable {
  id: ColumnType<boolean, boolean | undefined, never>;
  seq: ColumnType<string, string | number, string | number>;
  hash: string;
  updated_at: Timestamp;
}

export interface ComplianceCountersTable {
  tenant_id: string;
  name: 'flow_completions' | 'erasure_requests' | 'reengaged';
  value: ColumnType<string, number | string, number | string>;
}

export interface ErasedIdentitiesTable {
  tenant_id: string;
  blind_index: string;
  erased_at: Timestamp;
}

export interface RequestExportsTable {
  request_id: string;
  system_id: string;
  /** Sealed JSON of the records a system returned: request_exports.body.<request>.<system> */
  body: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface AlertsSentTable {
  subject_key: string;
  kind: string;
  sent_at: Timestamp;
}

export interface DB {
  tenants: TenantsTable;
  subjects: SubjectsTable;
  subject_keys: SubjectKeysTable;
  identities: IdentitiesTable;
  messages: MessagesTable;
  flow_responses: FlowResponsesTable;
  media: MediaTable;
  message_statuses: MessageStatusesTable;
  processed_events: ProcessedEventsTable;
  suppressions: SuppressionsTable;
  flow_tokens: FlowTokensTable;
  api_keys: ApiKeysTable;
  forward_outbox: ForwardOutboxTable;
  schema_migrations: SchemaMigrationsTable;
  compliance_counters: ComplianceCountersTable;
  erased_identities: ErasedIdentitiesTable;
  request_exports: RequestExportsTable;
  alerts_sent: AlertsSentTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  privacy_requests: PrivacyRequestsTable;
  request_tasks: RequestTasksTable;
  outbound_notifications: OutboundNotificationsTable;
  retention_lease: RetentionLeaseTable;
  audit_archive: AuditArchiveTable;
  admin_users: AdminUsersTable;
  admin_recovery_codes: AdminRecoveryCodesTable;
  admin_sessions: AdminSessionsTable;
  admin_login_throttle: AdminLoginThrottleTable;
  erasure_journal: ErasureJournalTable;
  media_deletions: MediaDeletionsTable;
  job_claims: JobClaimsTable;
}
