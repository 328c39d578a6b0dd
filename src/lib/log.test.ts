import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrub } from './log.js';

describe('log hygiene', () => {
  it('scrubs phone-like numbers, BSUIDs and wamids from free text', () => {
    expect(scrub('call +1 555 010 0001 now')).toBe('call [phone] now');
    expect(scrub('wa 15550100001 x')).toBe('wa [phone] x');
    expect(scrub('user US.13491208655302741918 changed')).toBe('user [bsuid] changed');
    expect(scrub('id wamid.HBgLMTU1NTAxMDAwMDEVAgASGBQzQTdGRDk5 ok')).toBe('id wamid.[redacted] ok');
    expect(scrub('took 12 ms, status 200, 2026-11-21')).toBe('took 12 ms, status 200, 2026-11-21');
  });

  it.each([
    ['spaces', 'call +1 555 010 0001 now'],
    ['dashes', 'call 1-555-010-0001 now'],
    ['dots', 'call 555.010.0001 now'],
    ['parentheses', 'call (555) 010-0001 now'],
    ['+CC and parentheses', 'call +1 (555) 010-0001 now'],
    ['(+CC)', 'call (+1) 555 010 0001 now'],
    ['+CC national', 'call +44 20 7946 0958 now'],
    ['00CC', 'call 0044 20 7946 0958 now'],
    ['00CC dashes', 'call 001-555-010-0001 now'],
    ['trunk prefix in parentheses', 'call +49 (0)30 1234567 now'],
    ['bare wa_id', 'call 15550100001 now'],
    ['tel: URI', 'call tel:+15550100001 now'],
    ['inside JSON text', 'call {"to":"+15550100001"} now'],
  ])('scrubs a phone number written with %s', (_format, text) => {
    const out = scrub(text);
    expect(out).toContain('[phone]');
    expect(out.replace(/\[phone\]/g, '')).not.toMatch(/\d{3}/);
    expect(out.startsWith('call ')).toBe(true);
    expect(out.endsWith(' now')).toBe(true);
  });

  it.each(['US.13491208655302741918', 'BR.abcDEF123456', 'DE.Z9x8y7w6v5u4t3s2', `IN.${'a1'.repeat(64)}`])(
    'scrubs the BSUID %s wherever it stands',
    (bsuid) => {
      for (const text of [
        `user ${bsuid} changed`,
        `user=${bsuid},`,
        `{"user_id":"${bsuid}"}`,
        `(${bsuid})`,
      ]) {
        const out = scrub(text);
        expect(out).toContain('[bsuid]');
        expect(out).not.toContain(bsuid.slice(3));
      }
    },
  );

  it('leaves ids, dates, durations and addresses alone', () => {
    for (const text of [
      'request 123e4567-e89b-12d3-a456-426614174000 done',
      'request 00000000-0000-4000-8000-000000000000 done',
      'at 2026-11-21 10:00, 2026-11-21T10:00:00Z, 2026-11-21 10',
      'took 1234 ms, 200 rows, seq 1234567',
      'listening on 127.0.0.1:8080',
      'version v1.2.3',
    ]) {
      expect(scrub(text)).toBe(text);
    }
  });

  it('redacts personal fields and scrubs messages and errors', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger('info', sink);
    log.info(
      { contact: { phone: '+15550100002', name: 'Testperson Q' }, count: 3 },
      'ingested for 15550100002',
    );
    log.error({ err: new Error('duplicate key for +15550100002') }, 'failed');
    const text = lines.join('');
    expect(text).not.toContain('15550100002');
    expect(text).not.toContain('Testperson Q');
    expect(text).toContain('"count":3');
    expect(text).toContain('[redacted]');
  });
});
