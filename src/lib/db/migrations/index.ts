import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_forward_lease.js';
import * as m0003 from './0003_privacy_requests.js';
import * as m0004 from './0004_audit_log.js';

/** Numbered, forward-only. Append new migrations; never edit one that has shipped. */
export const migrations: { version: number; name: string; up: string }[] = [
  { version: 1, name: 'foundation', up: m0001.up },
  { version: 2, name: 'forward_lease', up: m0002.up },
  { version: 3, name: 'privacy_requests', up: m0003.up },
  { version: 4, name: 'audit_log', up: m0004.up },
];
