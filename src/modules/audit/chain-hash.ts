import crypto from 'node:crypto';

/**
 * The audit hash chain: hash = hex SHA-256 of `prev_hash + '\n' + canonicalJson(record)`, where the record is
 * every column but the two hashes and the first row's prev_hash is 64 zeros. Canonical JSON sorts object keys
 * (recursively) and drops undefined values, so a row read back from jsonb hashes exactly as it was written.
 * (A plain, unkeyed digest is right here: the content is public within the log; secrecy is not the point.)
 */

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainRecord {
  seq: number;
  id: string;
  tenant_id: string;
  occurred_at: Date;
  actor_type: string;
  actor_id: string | null;
  event_type: string;
  subject_ref: string | null;
  key_version: string;
  request_id: string | null;
  data: unknown;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    if (value === undefined || typeof value === 'function' || typeof value === 'bigint') {
      throw new TypeError(`cannot hash a ${typeof value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function chainHash(prevHash: string, record: ChainRecord): string {
  const body = canonicalJson({
    seq: record.seq,
    id: record.id,
    tenant_id: record.tenant_id,
    occurred_at: record.occurred_at.toISOString(),
    actor_type: record.actor_type,
    actor_id: record.actor_id,
    event_type: record.event_type,
    subject_ref: record.subject_ref,
    key_version: record.key_version,
    request_id: record.request_id,
    data: record.data,
  });
  return crypto.createHash('sha256').update(`${prevHash}\n${body}`, 'utf8').digest('hex');
}
