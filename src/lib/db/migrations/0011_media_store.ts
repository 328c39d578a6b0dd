/**
 * The optional media store (tenant setting `storeMedia`): downloaded media files live encrypted in a MediaStore
 * (filesystem by default) under `media.storage_key`; `stored_at`/`stored_size` say the object is complete
 * (a key without `stored_at` is a download in progress or abandoned).
 *
 * `media_deletions`: a trigger records every stored object whose media row is deleted (an erasure, a retention
 * sweep, a tenant's cascade, a hand-written DELETE) or whose storage key is cleared, in the same transaction.
 * The media workers delete the object and then the entry, so no path leaves a file behind. Storage keys only:
 * `<tenant>/<random id>`, nothing personal. No foreign keys: entries outlive their rows and tenants.
 */
export const up = /* sql */ `
alter table media add column stored_at timestamptz;
alter table media add column stored_size integer;
create unique index media_storage_key on media (storage_key) where storage_key is not null;

create table media_deletions (
  storage_key text primary key,
  tenant_id text not null,
  recorded_at timestamptz not null default now()
);

create function media_deletion_record() returns trigger language plpgsql as $$
begin
  insert into media_deletions (storage_key, tenant_id) values (old.storage_key, old.tenant_id)
    on conflict do nothing;
  return null;
end;
$$;
create trigger media_deletion_on_delete after delete on media
  for each row when (old.storage_key is not null) execute function media_deletion_record();
create trigger media_deletion_on_update after update of storage_key on media
  for each row when (old.storage_key is not null and old.storage_key is distinct from new.storage_key)
  execute function media_deletion_record();
`;
