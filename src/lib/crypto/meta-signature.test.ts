import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signMetaBody, verifyMetaSignature } from './meta-signature.js';

const SECRET = 'app-secret';
const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}');

describe('meta signature', () => {
  it('matches the RFC-style HMAC-SHA256 test vector', () => {
    const fox = Buffer.from('The quick brown fox jumps over the lazy dog');
    expect(signMetaBody(fox, 'key')).toBe(
      'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it('accepts its own signature, in either hex case', () => {
    const header = signMetaBody(body, SECRET);
    expect(verifyMetaSignature(body, header, SECRET)).toBe(true);
    expect(verifyMetaSignature(body, 'sha256=' + header.slice(7).toUpperCase(), SECRET)).toBe(true);
    expect(verifyMetaSignature(new Uint8Array(body), header, SECRET)).toBe(true);
  });

  it('rejects another secret, a changed byte, or a re-serialised body', () => {
    const header = signMetaBody(body, SECRET);
    expect(verifyMetaSignature(body, header, 'other-secret')).toBe(false);
    const changed = Buffer.from(body);
    changed[3] = (changed[3] ?? 0) ^ 1;
    expect(verifyMetaSignature(changed, header, SECRET)).toBe(false);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
    expect(verifyMetaSignature(reserialised, header, SECRET)).toBe(false);
  });

  it('returns false, never throws, for missing or misshapen headers and an empty secret', () => {
    const hex = signMetaBody(body, SECRET).slice(7);
    const bad: (string | string[] | undefined)[] = [
      undefined,
      '',
      'sha256=',
      hex,
      'sha1=' + hex,
      'SHA256=' + hex,
      ' sha256=' + hex,
      'sha256=' + hex.slice(0, 62),
      'sha256=' + hex + '00',
      'sha256=' + 'g'.repeat(64),
      'sha256=' + hex.slice(0, 63) + 'z',
      ['sha256=' + hex],
    ];
    for (const header of bad) expect(verifyMetaSignature(body, header, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, 'sha256=' + hex, '')).toBe(false);
    expect(() => signMetaBody(body, '')).toThrow();
  });

  it('never throws on random headers', () => {
    for (let i = 0; i < 500; i++) {
      const raw = crypto.randomBytes(crypto.randomInt(0, 80));
      const header = i % 2 === 0 ? 'sha256=' + raw.toString('hex') : raw.toString('latin1');
      expect(verifyMetaSignature(raw, header, SECRET)).toBe(false);
    }
  });
});
