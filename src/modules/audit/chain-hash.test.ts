import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalJson, chainHash, type ChainRecord } from './chain-hash.js';

const record: ChainRecord = {
  seq: 7,
  id: '0b6f3c1e-2c3a-4f57-9a55-7c1b4f0e9d21',
  tenant_id: 'default',
  occurred_at: new Date('2026-03-01T10:00:00.123Z'),
  actor_type: 'api_key',
  actor_id: 'c1d2e3f4-0000-4000-8000-000000000001',
  event_type: 'erasure.own_store',
  subject_ref: 'ab'.repeat(32),
  key_version: 'a1',
  request_id: null,
  data: { scope: 'all', counts: { messages: 3, identities: 2 } },
};

describe('audit hash chain', () => {
  it('canonical JSON sorts keys at every depth, keeps nulls and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: true, y: null }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":null,"z":true}]},"b":1}',
    );
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ n: 1n })).toThrow();
  });

  it('is SHA-256 over prev_hash, a newline and the canonical record (an independent computation agrees)', () => {
    const body =
      '{"actor_id":"c1d2e3f4-0000-4000-8000-000000000001","actor_type":"api_key",' +
      '"data":{"counts":{"identities":2,"messages":3},"scope":"all"},"event_type":"erasure.own_store",' +
      '"id":"0b6f3c1e-2c3a-4f57-9a55-7c1b4f0e9d21","key_version":"a1","occurred_at":"2026-03-01T10:00:00.123Z",' +
      `"request_id":null,"seq":7,"subject_ref":"${'ab'.repeat(32)}","tenant_id":"default"}`;
    const expected = crypto.createHash('sha256').update(`${GENESIS_HASH}\n${body}`).digest('hex');
    expect(chainHash(GENESIS_HASH, record)).toBe(expected);
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
  });

  it('changes with every field and with the previous hash', () => {
    const base = chainHash(GENESIS_HASH, record);
    const variants: Partial<ChainRecord>[] = [
      { seq: 8 },
      { id: crypto.randomUUID() },
      { tenant_id: 'other' },
      { occurred_at: new Date('2026-03-01T10:00:00.124Z') },
      { actor_type: 'admin' },
      { actor_id: null },
      { event_type: 'erasure.system' },
      { subject_ref: null },
      { key_version: 'a2' },
      { request_id: crypto.randomUUID() },
      { data: { scope: 'all', counts: { messages: 4, identities: 2 } } },
    ];
    const hashes = variants.map((v) => chainHash(GENESIS_HASH, { ...record, ...v }));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
    expect(chainHash('f'.repeat(64), record)).not.toBe(base);
    // Key order of data (as jsonb returns it) does not matter.
    expect(
      chainHash(GENESIS_HASH, { ...record, data: { counts: { identities: 2, messages: 3 }, scope: 'all' } }),
    ).toBe(base);
  });
});
