import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError, open, openText, seal } from './aead.js';
import { createKeyring } from './keyring.js';
import { createFieldCipher } from './subject-cipher.js';

describe('AES-256-GCM envelopes', () => {
  const key = crypto.randomBytes(32);

  it('round-trips and is bound to its AAD', () => {
    const env = seal(key, 'Testperson Name', 'subjects.profile_name.1');
    expect(env).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(openText(key, env, 'subjects.profile_name.1')).toBe('Testperson Name');
    expect(() => open(key, env, 'subjects.profile_name.2')).toThrow(DecryptError);
    expect(() => open(crypto.randomBytes(32), env, 'subjects.profile_name.1')).toThrow(DecryptError);
  });

  it('uses a fresh IV for every encryption and detects tampering', () => {
    const a = seal(key, 'same', 'x');
    const b = seal(key, 'same', 'x');
    expect(a).not.toBe(b);
    const raw = Buffer.from(a.slice(3), 'base64url');
    raw[14] = (raw[14] ?? 0) ^ 1;
    expect(() => open(key, `v1.${raw.toString('base64url')}`, 'x')).toThrow(DecryptError);
    expect(() => open(key, 'v2.abc', 'x')).toThrow(DecryptError);
    expect(() => open(key, 'v1.abc', 'x')).toThrow(DecryptError);
  });

  it('field ciphers bind table, column and row', () => {
    const cipher = createFieldCipher(crypto.randomBytes(32));
    const env = cipher.encrypt('+15550100001', 'identities', 'value', 'row-1');
    expect(cipher.decrypt(env, 'identities', 'value', 'row-1')).toBe('+15550100001');
    expect(() => cipher.decrypt(env, 'identities', 'value', 'row-2')).toThrow(DecryptError);
    expect(() => cipher.decrypt(env, 'messages', 'value', 'row-1')).toThrow(DecryptError);
  });
});

describe('keyring', () => {
  it('wraps data keys per owner and derives independent purpose keys', () => {
    const master = crypto.randomBytes(32);
    const ring = createKeyring(master);
    const dataKey = crypto.randomBytes(32);
    const wrapped = ring.wrapDataKey(dataKey, 'subject-a');
    expect(ring.unwrapDataKey(wrapped, 'subject-a').equals(dataKey)).toBe(true);
    expect(() => ring.unwrapDataKey(wrapped, 'subject-b')).toThrow(DecryptError);
    expect(() => createKeyring(crypto.randomBytes(32)).unwrapDataKey(wrapped, 'subject-a')).toThrow(
      DecryptError,
    );
    expect(ring.hmac('blind-index', 'x')).not.toBe(ring.hmac('event-id', 'x'));
    expect(ring.hmac('blind-index', 'x')).toBe(createKeyring(master).hmac('blind-index', 'x'));
    expect(ring.openSecret(ring.sealSecret('s3cret', 'tenants.secrets.a'), 'tenants.secrets.a')).toBe(
      's3cret',
    );
    expect(() =>
      ring.openSecret(ring.sealSecret('s3cret', 'tenants.secrets.a'), 'tenants.secrets.b'),
    ).toThrow();
    expect(() => createKeyring(Buffer.alloc(16))).toThrow();
  });
});
