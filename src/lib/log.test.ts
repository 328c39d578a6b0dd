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
