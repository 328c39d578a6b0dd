/**
 * Which running process holds which long job (PostgreSQL, several instances). A process holds an advisory lock
 * on its instance number for as long as it lives; when it dies, PostgreSQL drops the lock with its connection,
 * and any live instance fails the dead one's claimed jobs for a retry at once instead of at their expiry
 * (15 minutes for connector.run). See src/jobs/job-claims.ts.
 */
export const up = /* sql */ `
create table job_claims (
  job_id uuid primary key,
  queue text not null,
  instance integer not null,
  claimed_at timestamptz not null default now()
);
create index job_claims_instance on job_claims (instance);
`;
