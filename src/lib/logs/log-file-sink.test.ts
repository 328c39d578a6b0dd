import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAppLogger } from './app-logger.js';
import { expireLogFiles, rotatedLogFiles } from './expire-log-files.js';
import { createLogFileSink } from './log-file-sink.js';

const DAY = 86_400_000;

describe('log file sink', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-logs-'));
    file = path.join(dir, 'logs', 'flowguard.log');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const names = () => fs.readdirSync(path.dirname(file)).sort();

  it('rotates by size to path.DAY, then path.DAY.1, .2, keeping every file under the limit', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    const sink = createLogFileSink({ path: file, maxSizeMb: 1000 / (1024 * 1024), ttlDays: 14 }, () => now);
    const line = `${JSON.stringify({ level: 30, msg: 'x'.repeat(80) })}\n`;
    for (let i = 0; i < 40; i++) sink.write(line);
    sink.close();
    expect(names()).toEqual([
      'flowguard.log',
      'flowguard.log.2026-03-10',
      'flowguard.log.2026-03-10.1',
      'flowguard.log.2026-03-10.2',
      'flowguard.log.2026-03-10.3',
    ]);
    let lines = 0;
    for (const n of names()) {
      const text = fs.readFileSync(path.join(path.dirname(file), n), 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1000);
      lines += text.split('\n').filter(Boolean).length;
    }
    expect(lines).toBe(40);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('rotates when the UTC day changes, and at start-up for a file left by an earlier day', () => {
    let now = new Date('2026-03-10T23:59:00Z');
    const sink = createLogFileSink({ path: file, maxSizeMb: 10, ttlDays: 14 }, () => now);
    sink.write('{"day":10}\n');
    now = new Date('2026-03-11T00:01:00Z');
    sink.write('{"day":11}\n');
    sink.close();
    expect(names()).toEqual(['flowguard.log', 'flowguard.log.2026-03-10']);
    expect(fs.readFileSync(`${file}.2026-03-10`, 'utf8')).toBe('{"day":10}\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"day":11}\n');

    // A process started two days later finds yesterday's file and rotates it before writing.
    fs.utimesSync(file, now, now);
    const later = new Date(now.getTime() + 2 * DAY);
    const next = createLogFileSink({ path: file, maxSizeMb: 10, ttlDays: 14 }, () => later);
    next.write('{"day":13}\n');
    next.close();
    expect(names()).toEqual(['flowguard.log', 'flowguard.log.2026-03-10', 'flowguard.log.2026-03-11']);
  });

  it('deletes rotated files older than ttlDays at start-up and on rotation, and nothing else', () => {
    const now = new Date('2026-03-20T08:00:00Z');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const make = (name: string, ageDays: number) => {
      const p = path.join(path.dirname(file), name);
      fs.writeFileSync(p, '{}\n');
      const t = new Date(now.getTime() - ageDays * DAY);
      fs.utimesSync(p, t, t);
    };
    make('flowguard.log.2026-03-01', 19);
    make('flowguard.log.2026-03-05.2', 15);
    make('flowguard.log.2026-03-13', 7);
    make('flowguard.log.bak', 30);
    make('other.log.2026-03-01', 30);
    const sink = createLogFileSink({ path: file, maxSizeMb: 10, ttlDays: 14 }, () => now);
    expect(names()).toEqual([
      'flowguard.log',
      'flowguard.log.2026-03-13',
      'flowguard.log.bak',
      'other.log.2026-03-01',
    ]);
    make('flowguard.log.2026-03-02', 18);
    sink.write('{"a":1}\n');
    sink.rotate();
    sink.close();
    expect(rotatedLogFiles(file).map((f) => path.basename(f))).toEqual([
      'flowguard.log.2026-03-13',
      'flowguard.log.2026-03-20',
    ]);
    // The sweeper's view: counted in a dry run, deleted otherwise.
    const later = new Date(now.getTime() + 8 * DAY);
    expect(expireLogFiles(file, 14, later, { dryRun: true })).toEqual({ expired: 1, deleted: 0 });
    expect(expireLogFiles(file, 14, later)).toEqual({ expired: 1, deleted: 1 });
    expect(rotatedLogFiles(file).map((f) => path.basename(f))).toEqual(['flowguard.log.2026-03-20']);
  });

  it('writes the logger’s redacted, scrubbed JSON lines to stdout and the file alike', () => {
    const out: string[] = [];
    const stdout = { write: (s: string) => out.push(s) };
    const app = createAppLogger(
      { logLevel: 'debug', logFile: { path: file, maxSizeMb: 10, ttlDays: 14 } },
      { stdout },
    );
    app.logger.debug({ contact: { phone: '+15550100007', name: 'Testperson Z' } }, 'from 15550100007');
    app.close();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toBe(out.join(''));
    expect(text).toContain('[redacted]');
    expect(text).not.toMatch(/5550100007|Testperson/);
  });

  it('drops lines instead of throwing when the file cannot be written', () => {
    const sink = createLogFileSink({ path: file, maxSizeMb: 1 / 1024, ttlDays: 14 });
    sink.write('{"first":true}\n');
    // The directory disappears under the process: rotating (rename, reopen) fails.
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    fs.writeFileSync(path.dirname(file), 'not a directory');
    expect(() => sink.write(`${JSON.stringify({ msg: 'y'.repeat(2000) })}\n`)).not.toThrow();
    expect(sink.dropped).toBe(1);
    sink.close();
  });
});
