/**
 * The seed's compliance metrics must survive erasure and be the same for every instance: counters live in the
 * store, incremented in the transaction of the event they count. `erased_identities` keeps, only for tenants
 * that enable re-engagement tracking and only for a bounded window, the blind index of each erased identity.
 */
export const up = /* sql */ `
create table compliance_counters (
  tenant_id text not null references tenants(id) on delete cascade,
  name text not null,
  value bigint not null default 0,
  primary key (tenant_id, name)
);

create table erased_identities (
  tenant_id text not null references tenants(id) on delete cascade,
  blind_index text not null,
  erased_at timestamptz not null default now(),
  primary key (tenant_id, blind_index)
);
create index erased_identities_age on erased_identities (erased_at);
`;
