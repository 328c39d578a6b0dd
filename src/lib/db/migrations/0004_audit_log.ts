/**
 * The audit log: append-only, hash-chained records of what flowguard did (no personal data; the subject is a
 * keyed HMAC). `audit_head` is the checkpoint of the chain's tail (seq + hash), written in the same transaction
 * as each append, so a deleted tail or a forged row appended without it is detected. Triggers refuse UPDATE,
 * DELETE and TRUNCATE of audit_log (and DELETE/TRUNCATE of audit_head): the application cannot rewrite history
 * by accident; someone who disables the triggers is caught by `audit verify`. No foreign keys: audit rows
 * outlive their tenants and subjects.
 */
export const up = /* sql */ `
create table audit_log (
  seq bigserial primary key,
  id uuid not null unique,
  tenant_id text not null,
  occurred_at timestamptz not null,
  actor_type text not null check (actor_type in ('system', 'subject', 'api_key', 'admin', 'cli')),
  actor_id text,
  event_type text not null,
  subject_ref text,
  key_version text not null,
  request_id uuid,
  data jsonb not null default '{}',
  prev_hash text not null unique,
  hash text not null
);
create index audit_log_tenant on audit_log (tenant_id, seq);
create index audit_log_subject on audit_log (subject_ref, seq) where subject_ref is not null;
create index audit_log_request on audit_log (request_id, seq) where request_id is not null;

create table audit_head (
  id boolean primary key default true check (id),
  seq bigint not null,
  hash text not null,
  updated_at timestamptz not null default now()
);

create function audit_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'restrict_violation';
end;
$$;

create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function audit_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_refuse_change();
create trigger audit_head_keep before delete on audit_head
  for each row execute function audit_refuse_change();
create trigger audit_head_no_truncate before truncate on audit_head
  for each statement execute function audit_refuse_change();
`;
