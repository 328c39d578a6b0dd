/**
 * Privacy requests (DSARs) and their per-system tasks. A request record outlives the person's data: after
 * erasure it keeps only the keyed subject reference, types, timestamps and counts (GDPR Art. 5(2), 30;
 * 11 CCR 7101: at least 24 months). What is personal in a request is sealed and removed when it is no longer
 * needed: `identities` (to reach the data-map systems after the own store forgot the person) is cleared when
 * the request ends; `params` (rectification values) is encrypted under the person's data key.
 */
export const up = /* sql */ `
create table privacy_requests (
  id uuid primary key,
  tenant_id text not null,
  reference text not null unique,
  type text not null check (type in ('erasure', 'access', 'rectification', 'opt_out', 'restriction')),
  scope text not null default 'all',
  channel text not null,
  status text not null check (status in ('received', 'awaiting_verification', 'verified', 'executing', 'completed', 'failed', 'denied')),
  subject_id uuid references subjects(id) on delete set null,
  subject_ref text not null,
  regime text not null,
  verification text,
  confirmation_hash text,
  identities text,
  params text,
  result jsonb not null default '{}',
  error_code text,
  deny_reason text,
  extension_reason text,
  received_at timestamptz not null default now(),
  verified_at timestamptz,
  due_at timestamptz not null,
  original_due_at timestamptz not null,
  completed_at timestamptz,
  updated_at timestamptz not null default now()
);
create index privacy_requests_tenant_status on privacy_requests (tenant_id, status, due_at);
create index privacy_requests_subject on privacy_requests (subject_ref, type, status);
create unique index privacy_requests_confirmation on privacy_requests (confirmation_hash) where confirmation_hash is not null;

create table request_tasks (
  request_id uuid not null references privacy_requests(id) on delete cascade,
  system_id text not null,
  action text not null,
  status text not null check (status in ('pending', 'running', 'done', 'failed', 'dead', 'skipped')),
  attempts integer not null default 0,
  counts jsonb not null default '{}',
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (request_id, system_id)
);
create index request_tasks_open on request_tasks (status) where status in ('pending', 'running', 'failed', 'dead');

-- Messages flowguard must still send after the person's data is gone (the erasure confirmation): the
-- recipient is sealed under a tenant-level key and the row is deleted as soon as it is sent.
create table outbound_notifications (
  id uuid primary key,
  tenant_id text not null references tenants(id) on delete cascade,
  request_id uuid,
  recipient text not null,
  kind text not null,
  params jsonb not null default '{}',
  attempts integer not null default 0,
  created_at timestamptz not null default now()
);
`;
