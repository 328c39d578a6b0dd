/**
 * What data-map systems return for access requests, kept sealed only until the person's export expires, and
 * the alerts already sent (so a deadline warning goes out once per request and threshold).
 */
export const up = /* sql */ `
create table request_exports (
  request_id uuid not null references privacy_requests(id) on delete cascade,
  system_id text not null,
  body text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (request_id, system_id)
);
create index request_exports_expiry on request_exports (expires_at);

create table alerts_sent (
  subject_key text not null,
  kind text not null,
  sent_at timestamptz not null default now(),
  primary key (subject_key, kind)
);
`;
