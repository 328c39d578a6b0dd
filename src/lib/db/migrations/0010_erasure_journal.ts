/**
 * Crypto-shredding that survives backups (ADR 0003). Subject keys move to the key store, apart from this
 * database; what ties the two together is the erasure journal.
 *
 * `erasure_journal`: a trigger records every deleted subject (an erasure, a retention sweep, a tenant's
 * cascade, a hand-written DELETE) in the same transaction as the delete. The shred job then computes the keyed
 * reference (HMAC of the subject id under the `subject-ref` key), deletes the key from the key store together
 * with the key store's own journal entry, and replaces the subject id here with that reference. A crash between
 * the commit and the key deletion leaves a pending row, which the next run picks up. No foreign keys: entries
 * outlive their tenants. `subject_keys` (the old in-database key table) is emptied into the key store at start.
 *
 * `identities.blind_index_version`: the blind-index key version each row was computed under, so lookups can
 * search every held version during a transition. `tenants.offboarding_at`: `tenant delete` has started.
 */
export const up = /* sql */ `
create table erasure_journal (
  id bigserial primary key,
  tenant_id text not null,
  subject_id uuid unique,
  ref text,
  erased_at timestamptz not null default now(),
  shredded_at timestamptz,
  check ((subject_id is null) <> (ref is null))
);
create index erasure_journal_pending on erasure_journal (id) where shredded_at is null;
create index erasure_journal_ref on erasure_journal (ref) where ref is not null;
create index erasure_journal_tenant on erasure_journal (tenant_id, id) where shredded_at is null;

create function erasure_journal_record() returns trigger language plpgsql as $$
begin
  insert into erasure_journal (tenant_id, subject_id) values (old.tenant_id, old.id) on conflict do nothing;
  return null;
end;
$$;
create trigger subjects_erasure_journal after delete on subjects
  for each row execute function erasure_journal_record();

alter table identities add column blind_index_version text not null default 'b1';
alter table tenants add column offboarding_at timestamptz;
`;
