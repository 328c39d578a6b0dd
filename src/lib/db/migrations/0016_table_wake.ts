/**
 * Work that a committed row asks for, woken without a job insert in the writing transaction. A statement-level
 * trigger NOTIFYs `table:<name>` on the job channel (PostgreSQL delivers it when the transaction commits, never
 * for a rolled-back one, once per transaction), and the workers listening act on it (src/jobs/wake-on-commit.ts):
 * - outbound_notifications: the relay queues each new row's send job (modules/dsr/notify-relay.ts). `queued_at`
 *   says it did; rows written before this migration had their job sent in their own transaction.
 * - erasure_journal: the shred job runs (modules/keys), whoever deleted the subject.
 * A notification lost with a connection only delays the work to the relay's or the shred job's schedule.
 */
export const up = /* sql */ `
alter table outbound_notifications add column queued_at timestamptz;
update outbound_notifications set queued_at = created_at;
create index outbound_notifications_unqueued on outbound_notifications (created_at) where queued_at is null;

create function flowguard_table_wake() returns trigger language plpgsql as $$
begin
  perform pg_notify('flowguard_jobs', 'table:' || tg_table_name);
  return null;
end;
$$;
create trigger outbound_notifications_wake after insert on outbound_notifications
  for each statement execute function flowguard_table_wake();
create trigger erasure_journal_wake after insert on erasure_journal
  for each statement execute function flowguard_table_wake();
`;
