import { describe, expect, it } from 'vitest';
import { progressDisplay } from './retention.js';

describe('retention progress display', () => {
  it('redraws one bar on a terminal and leaves a line per finished category', () => {
    const lines: string[] = [];
    const drawn: string[] = [];
    const d = progressDisplay(
      { err: (t) => lines.push(t) },
      { write: (s) => drawn.push(s), columns: 100 },
      false,
    );
    d.listener('flow_responses', { expired: 4000, deleted: 0 }, false);
    d.listener('flow_responses', { expired: 4000, deleted: 1000 }, false);
    d.listener('flow_responses', { expired: 4000, deleted: 4000 }, true);
    d.end();
    expect(drawn[1]).toBe('\r\x1b[2Kretention [######------------------] flow_responses 1000/4000');
    expect(drawn.at(-1)).toBe('\r\x1b[2K');
    expect(lines).toEqual(['  flow_responses: 4000 expired, 4000 deleted']);
  });

  it('prints plain lines when stderr is not a terminal, and only non-empty categories in a dry run', () => {
    const lines: string[] = [];
    const d = progressDisplay({ err: (t) => lines.push(t) }, undefined, true);
    d.listener('media', { expired: 0, deleted: 0 }, true);
    d.listener('messages', { expired: 12, deleted: 0 }, true);
    d.end();
    expect(lines).toEqual(['  messages: 12 expired']);
  });
});
