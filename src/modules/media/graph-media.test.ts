import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestMatches } from './fetch-media.js';
import { isTrustedMediaUrl } from './graph-media.js';

describe('media download rules', () => {
  const graph = 'https://graph.facebook.com/v23.0';

  it('sends the bearer token only to Meta media hosts over https or to the Graph URL’s own origin', () => {
    const trusted = [
      'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2',
      'https://graph.facebook.com/other',
    ];
    const untrusted = [
      'http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1',
      'https://lookaside.fbsbx.com.evil.example/x',
      'https://evilfbsbx.com/x',
      'https://example.com/x',
      'not a url',
    ];
    for (const u of trusted) expect(isTrustedMediaUrl(u, graph), u).toBe(true);
    for (const u of untrusted) expect(isTrustedMediaUrl(u, graph), u).toBe(false);
    expect(isTrustedMediaUrl('http://127.0.0.1:4000/media-download/1', 'http://127.0.0.1:4000/v23.0')).toBe(
      true,
    );
    expect(isTrustedMediaUrl('http://127.0.0.1:4001/media-download/1', 'http://127.0.0.1:4000/v23.0')).toBe(
      false,
    );
  });

  it('accepts the announced sha256 in hex or base64, and nothing else', () => {
    const digest = crypto.createHash('sha256').update('a picture').digest();
    expect(digestMatches(digest, digest.toString('hex'))).toBe(true);
    expect(digestMatches(digest, digest.toString('hex').toUpperCase())).toBe(true);
    expect(digestMatches(digest, digest.toString('base64'))).toBe(true);
    expect(digestMatches(digest, digest.toString('base64url'))).toBe(true);
    expect(digestMatches(digest, crypto.randomBytes(32).toString('base64'))).toBe(false);
    expect(digestMatches(digest, digest.toString('hex').slice(0, 40))).toBe(false);
    expect(digestMatches(digest, '')).toBe(false);
  });
});
