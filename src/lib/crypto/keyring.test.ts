import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError } from './aead.js';
import { createKeyring, hmacVersionOf, masterKeyVersion, sealPurposeKey } from './keyring.js';

const master = () => {
  const key = crypto.randomBytes(32);
  return { key, version: masterKeyVersion(key) };
};

describe('keyring with master key versions', () => {
  it('labels master keys by a stable fingerprint', () => {
    const a = master();
    expect(a.version).toMatch(/^k[0-9a-f]{10}$/);
    expect(masterKeyVersion(Buffer.from(a.key))).toBe(a.version);
    expect(masterKeyVersion(crypto.randomBytes(32))).not.toBe(a.version);
  });

  it('re-wraps data keys from a previous master key to the current one', () => {
    const oldM = master();
    const newM = master();
    const before = createKeyring(oldM.key, oldM.version);
    const dataKey = crypto.randomBytes(32);
    const wrapped = before.wrapDataKey(dataKey, 'ref-a');

    const during = createKeyring(newM.key, newM.version, { previous: [oldM] });
    expect(during.hasMasterVersion(oldM.version)).toBe(true);
    expect(during.unwrapDataKey(wrapped, 'ref-a', oldM.version).equals(dataKey)).toBe(true);
    // An unknown label (legacy `m1`) tries every held key; the AEAD tag decides.
    expect(during.unwrapDataKey(wrapped, 'ref-a', 'm1').equals(dataKey)).toBe(true);
    const rewrapped = during.rewrapDataKey(wrapped, 'ref-a', oldM.version);
    expect(() => during.rewrapDataKey(wrapped, 'ref-b', oldM.version)).toThrow(DecryptError);

    const after = createKeyring(newM.key, newM.version);
    expect(after.unwrapDataKey(rewrapped, 'ref-a', newM.version).equals(dataKey)).toBe(true);
    expect(() => after.unwrapDataKey(wrapped, 'ref-a', oldM.version)).toThrow(DecryptError);
  });

  it('keeps purpose keys (HMACs, tenant secrets) across a master key rotation', () => {
    const oldM = master();
    const newM = master();
    const first = createKeyring(oldM.key, oldM.version);
    const stored = first.sealPurposeKeys();
    expect(stored.map((s) => `${s.purpose}:${s.version}`).sort()).toEqual([
      'audit-subject:a1',
      'blind-index:b1',
      'event-id:e1',
      'export-link:x1',
      'subject-ref:r1',
      'tenant-secrets:s1',
    ]);
    const secret = first.sealSecret('s3cret', 'tenants.secrets.a');

    const during = createKeyring(newM.key, newM.version, { previous: [oldM], purposeKeys: stored });
    const rewrapped = during.sealPurposeKeys();
    expect(rewrapped.every((r) => r.masterVersion === newM.version)).toBe(true);

    // Without the old master key at all: the re-wrapped purpose keys give the same HMACs and open old secrets.
    const after = createKeyring(newM.key, newM.version, { purposeKeys: rewrapped });
    expect(after.hmac('blind-index', 'x')).toBe(first.hmac('blind-index', 'x'));
    expect(after.hmac('audit-subject', 'x')).toBe(first.hmac('audit-subject', 'x'));
    expect(after.openSecret(secret, 'tenants.secrets.a')).toBe('s3cret');
    // A derived keyring on the new master alone would not: the stored keys are what keeps them stable.
    expect(createKeyring(newM.key, newM.version).hmac('blind-index', 'x')).not.toBe(
      first.hmac('blind-index', 'x'),
    );
    expect(() => createKeyring(newM.key, newM.version, { purposeKeys: stored })).toThrow(
      /FLOWGUARD_MASTER_KEY_PREVIOUS/,
    );
  });

  it('uses the newest HMAC version and looks values up under every held version', () => {
    const m = master();
    const base = createKeyring(m.key, m.version);
    const b2 = sealPurposeKey(m, 'blind-index', 'b2', crypto.randomBytes(32));
    const ring = createKeyring(m.key, m.version, { purposeKeys: [...base.sealPurposeKeys(), b2] });
    expect(ring.hmacVersion('blind-index')).toBe('b2');
    expect(ring.hmacVersion('audit-subject')).toBe('a1');
    const all = ring.hmacAll('blind-index', 'x');
    expect(all).toHaveLength(2);
    expect(all[0]).toBe(ring.hmac('blind-index', 'x'));
    expect(all[1]).toBe(base.hmac('blind-index', 'x'));
    expect(ring.hmacAll('event-id', 'x')).toEqual([base.hmac('event-id', 'x')]);
  });

  it('labels values of later versions, holds a new version for lookups before writing it, and drops a retired one', () => {
    const m = master();
    const ring = createKeyring(m.key, m.version);
    const first = ring.hmac('blind-index', 'x');
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(hmacVersionOf('blind-index', first)).toBe('b1');

    // Written from a minute on: searched at once, not yet written.
    const later = ring.sealNewPurposeKey('blind-index', new Date(Date.now() + 60_000));
    expect(later).toMatchObject({ purpose: 'blind-index', version: 'b2', masterVersion: m.version });
    ring.loadPurposeKeys([...ring.sealPurposeKeys(), later]);
    expect(ring.hmacVersion('blind-index')).toBe('b1');
    expect(ring.hmac('blind-index', 'x')).toBe(first);
    const both = ring.hmacAll('blind-index', 'x');
    expect(both).toHaveLength(2);
    expect(both[0]).toMatch(/^b2\.[0-9a-f]{64}$/);
    expect(hmacVersionOf('blind-index', both[0]!)).toBe('b2');
    expect(both[1]).toBe(first);

    // Active now: written; the activation time survives a re-seal (what a master key rotation stores).
    const now = ring.sealNewPurposeKey('audit-subject', new Date(Date.now() - 1));
    ring.loadPurposeKeys([...ring.sealPurposeKeys(), now]);
    expect(ring.hmacVersion('audit-subject')).toBe('a2');
    expect(ring.hmac('audit-subject', 'x')).toMatch(/^a2\.[0-9a-f]{64}$/);
    const resealed = ring.sealPurposeKeys().find((r) => r.version === 'b2');
    expect(resealed?.activeFrom).toBe(later.activeFrom);

    // Retired: the store no longer has a1, so neither does the keyring; other purposes are untouched.
    ring.loadPurposeKeys(ring.sealPurposeKeys().filter((r) => r.version !== 'a1'));
    expect(ring.hmacVersions('audit-subject').map((v) => v.version)).toEqual(['a2']);
    expect(ring.hmacAll('audit-subject', 'x')).toEqual([ring.hmac('audit-subject', 'x')]);
    expect(ring.hmacAll('blind-index', 'x')).toEqual(both);
  });
});
