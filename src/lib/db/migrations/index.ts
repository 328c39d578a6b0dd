import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_forward_lease.js';
import * as m0003 from './0003_privacy_requests.js';
import * as m0004 from './0004_audit_log.js';
import * as m0005 from './0005_compliance_counters.js';
import * as m0006 from './0006_system_results.js';
import * as m0007 from './0007_task_queueing.js';
import * as m0008 from './0008_admin.js';
import * as m0009 from './0009_retention.js';
import * as m0010 from './0010_erasure_journal.js';
import * as m0011 from './0011_media_store.js';
import * as m0012 from './0012_erasure_indexes.js';
import * as m0013 from './0013_operational_retention.js';
import * as m0014 from './0014_admin_mfa_enrolment.js';
import * as m0015 from './0015_job_claims.js';
import * as m0016 from './0016_table_wake.js';

/** Numbered, forward-only. Append new migrations; never edit one that has shipped. */
export const migrations: { version: number; name: string; up: string }[] = [
  { version: 1, name: 'foundation', up: m0001.up },
  { version: 2, name: 'forward_lease', up: m0002.up },
  { version: 3, name: 'privacy_requests', up: m0003.up },
  { version: 4, name: 'audit_log', up: m0004.up },
  { version: 5, name: 'compliance_counters', up: m0005.up },
  { version: 6, name: 'system_results', up: m0006.up },
  { version: 7, name: 'task_queueing', up: m0007.up },
  { version: 8, name: 'admin', up: m0008.up },
  { version: 9, name: 'retention', up: m0009.up },
  { version: 10, name: 'erasure_journal', up: m0010.up },
  { version: 11, name: 'media_store', up: m0011.up },
  { version: 12, name: 'erasure_indexes', up: m0012.up },
  { version: 13, name: 'operational_retention', up: m0013.up },
  { version: 14, name: 'admin_mfa_enrolment', up: m0014.up },
  { version: 15, name: 'job_claims', up: m0015.up },
  { version: 16, name: 'table_wake', up: m0016.up },
];
