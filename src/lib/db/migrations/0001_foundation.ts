/** Foundation schema: tenants, subjects with per-subject keys, identities by blind index, and the ingest tables. */
export const up = /* sql */ `
create table tenants (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  name text not null,
  phone_number_id text unique,
  business_account_id text,
  secrets text not null,
  settings jsonb not null default '{}',
  is_default boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index tenants_one_default on tenants (is_default) where is_default;

create table subjects (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  profile_name text,
  restricted boolean not null default false,
  marketing_opt_out boolean not null default false,
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);
create index subjects_tenant on subjects (tenant_id, last_seen_at);

create table subject_keys (
  subject_id uuid primary key references subjects(id) on delete cascade,
  tenant_id text not null references tenants(id) on delete cascade,
  wrapped_key text not null,
  master_version text not null,
  created_at timestamptz not null default now()
);

create table identities (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid not null references subjects(id) on delete cascade,
  kind text not null check (kind in ('phone', 'bsuid')),
  blind_index text not null,
  value text not null,
  created_at timestamptz not null default now(),
  superseded_at timestamptz,
  unique (tenant_id, kind, blind_index)
);
create index identities_subject on identities (subject_id);

create table messages (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid not null references subjects(id) on delete cascade,
  event_key text not null,
  direction text not null check (direction in ('inbound', 'outbound')),
  type text not null,
  sent_at timestamptz not null,
  content text,
  created_at timestamptz not null default now(),
  unique (tenant_id, event_key)
);
create index messages_subject on messages (subject_id);
create index messages_created on messages (tenant_id, created_at);

create table flow_responses (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid not null references subjects(id) on delete cascade,
  flow_token_id uuid,
  response text not null,
  received_at timestamptz not null default now()
);
create index flow_responses_subject on flow_responses (subject_id);
create index flow_responses_received on flow_responses (tenant_id, received_at);

create table media (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid not null references subjects(id) on delete cascade,
  message_id uuid references messages(id) on delete set null,
  media_ref text not null,
  mime_type text,
  sha256 text,
  caption text,
  storage_key text,
  received_at timestamptz not null default now()
);
create index media_subject on media (subject_id);
create index media_received on media (tenant_id, received_at);

create table message_statuses (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid references subjects(id) on delete cascade,
  event_key text not null,
  status text not null,
  error_code integer,
  status_at timestamptz not null,
  created_at timestamptz not null default now(),
  unique (tenant_id, event_key)
);
create index message_statuses_subject on message_statuses (subject_id);

create table processed_events (
  tenant_id text not null references tenants(id) on delete cascade,
  event_key text not null,
  kind text not null,
  processed_at timestamptz not null default now(),
  primary key (tenant_id, event_key)
);
create index processed_events_age on processed_events (processed_at);

create table suppressions (
  tenant_id text not null references tenants(id) on delete cascade,
  kind text not null check (kind in ('phone', 'bsuid')),
  blind_index text not null,
  reason text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, kind, blind_index)
);

create table flow_tokens (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid not null references subjects(id) on delete cascade,
  token_hash text not null unique,
  purpose text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index flow_tokens_subject on flow_tokens (subject_id);
create index flow_tokens_expiry on flow_tokens (expires_at);

create table api_keys (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  name text not null,
  key_hash text not null unique,
  key_prefix text not null,
  role text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

create table forward_outbox (
  id bigserial primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  subject_id uuid references subjects(id) on delete cascade,
  target_index integer not null,
  conversation_key text not null,
  body text not null,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  attempts integer not null default 0,
  last_error text
);
create index forward_outbox_pending on forward_outbox (tenant_id, conversation_key, target_index, id) where delivered_at is null;
`;
