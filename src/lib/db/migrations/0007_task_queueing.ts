/**
 * A data-map task may have to wait for others (an object store reading object keys from a SQL system's rows
 * erases before that system does). `queued_at` records when its job was sent, so it is sent exactly once.
 */
export const up = /* sql */ `
alter table request_tasks add column queued_at timestamptz;
`;
