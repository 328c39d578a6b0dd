import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the tables created by the migrations in ./migrations. Encrypted columns hold `v1.` envelopes. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = unknown> = ColumnType<T, string, string>;

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
  storage_key: string | null;
  received_at: Timestamp;
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

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: Timestamp;
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
}
