/**
 * Retention sweeps. Indexes for each category's age predicate, so a batch finds its next 1,000 expired rows
 * without scanning the table. The sweeper's lease (one sweep at a time across instances and the CLI). And the
 * audit log's archive checkpoints: audit rows past their legal period go in whole prefixes of the chain; before
 * a prefix is deleted, a checkpoint row records the seq and hash of its last row, and `audit verify` starts
 * from the latest checkpoint. The DELETE trigger of audit_log now lets through exactly the rows covered by a
 * checkpoint (seq <= the highest archived seq); everything else is still refused, as are UPDATE and TRUNCATE,
 * and the checkpoints themselves are append-only.
 */
export const up = /* sql */ `
create index flow_responses_age on flow_responses (received_at);
create index media_age on media (received_at);
create index messages_age on messages (created_at);
create index messages_with_content on messages (created_at) where content is not null;
create index message_statuses_age on message_statuses (created_at);
create index subjects_last_seen on subjects (last_seen_at);
create index privacy_requests_open_subject on privacy_requests (subject_id)
  where status not in ('completed', 'failed', 'denied');
create index forward_outbox_age on forward_outbox (created_at);
create index outbound_notifications_age on outbound_notifications (created_at);
create index alerts_sent_age on alerts_sent (sent_at);
create index privacy_requests_ended on privacy_requests ((coalesce(completed_at, updated_at)))
  where status in ('completed', 'failed', 'denied');

create table retention_lease (
  id boolean primary key default true check (id),
  owner text not null,
  lease_until timestamptz not null,
  started_at timestamptz not null,
  finished_at timestamptz,
  summary jsonb not null default '{}'
);

create table audit_archive (
  through_seq bigint primary key,
  through_hash text not null,
  through_occurred_at timestamptz not null,
  rows bigint not null,
  archived_at timestamptz not null default now()
);
create trigger audit_archive_append_only before update or delete on audit_archive
  for each row execute function audit_refuse_change();
create trigger audit_archive_no_truncate before truncate on audit_archive
  for each statement execute function audit_refuse_change();

create function audit_log_prune_guard() returns trigger language plpgsql as $$
begin
  if old.seq <= coalesce((select max(through_seq) from audit_archive), 0) then
    return old;
  end if;
  raise exception 'audit_log is append-only: DELETE refused' using errcode = 'restrict_violation';
end;
$$;

drop trigger audit_log_append_only on audit_log;
create trigger audit_log_no_update before update on audit_log
  for each row execute function audit_refuse_change();
create trigger audit_log_prune_archived before delete on audit_log
  for each row execute function audit_log_prune_guard();
`;
