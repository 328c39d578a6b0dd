/**
 * Pass-through deliveries: a short lease on a conversation's head row, so one drain at a time delivers a
 * conversation in order (and one retry chain at a time backs off), whatever pg-boss job triggered it.
 */
export const up = /* sql */ `
alter table forward_outbox add column lease_owner text;
alter table forward_outbox add column lease_until timestamptz;
`;
