import fs from 'node:fs';
import path from 'node:path';
import type { LogFileConfig } from '../../config/retention.js';
import { expireLogFiles } from './expire-log-files.js';

/**
 * flowguard's own log file: the same JSON lines as stdout (already redacted and scrubbed by the logger),
 * appended synchronously to `path` (mode 0600). The file is rotated, by renaming it to `path.YYYY-MM-DD` (UTC
 * day of its content; `.1`, `.2`... for further rotations that day), when a line would take it past
 * `maxSizeMb` and when the day changes; rotated files older than `ttlDays` are deleted at start-up and on
 * every rotation (and by the retention sweeper). One process per file: give each instance its own path.
 * A failing disk never breaks the service: the line is dropped and the failure counted.
 */

export interface LogFileSink {
  /** pino's DestinationStream. */
  write(line: string): void;
  /** Rotate now (used on day change and size; exposed for operators' tooling and tests). */
  rotate(): void;
  /** Lines dropped because the file could not be written. */
  readonly dropped: number;
  close(): void;
}

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** The name a rotation gives the live file: `path.DAY`, else the first free `path.DAY.N`. */
export function rotationTarget(logPath: string, day: string): string {
  const base = `${logPath}.${day}`;
  if (!fs.existsSync(base)) return base;
  for (let n = 1; ; n++) {
    const candidate = `${base}.${n}`;
    if (!fs.existsSync(candidate)) return candidate;
  }
}

export function createLogFileSink(cfg: LogFileConfig, clock: () => Date = () => new Date()): LogFileSink {
  const maxBytes = Math.floor(cfg.maxSizeMb * 1024 * 1024);
  fs.mkdirSync(path.dirname(cfg.path), { recursive: true, mode: 0o700 });
  let fd: number | undefined;
  let size = 0;
  let day = utcDay(clock());
  let dropped = 0;
  let closed = false;

  const open = (): number => {
    const opened = fs.openSync(cfg.path, 'a', 0o600);
    fd = opened;
    size = fs.fstatSync(opened).size;
    return opened;
  };

  const rotate = () => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
    if (fs.existsSync(cfg.path) && fs.statSync(cfg.path).size > 0) {
      fs.renameSync(cfg.path, rotationTarget(cfg.path, day));
    }
    day = utcDay(clock());
    open();
    expireLogFiles(cfg.path, cfg.ttlDays, clock());
  };

  // Start-up: a file left by an earlier day is rotated first; expired rotations go.
  if (fs.existsSync(cfg.path)) {
    const st = fs.statSync(cfg.path);
    if (st.size > 0) day = utcDay(st.mtime);
  }
  if (day !== utcDay(clock())) rotate();
  else open();
  expireLogFiles(cfg.path, cfg.ttlDays, clock());

  return {
    write(line: string) {
      if (closed) return;
      try {
        const bytes = Buffer.byteLength(line);
        if (utcDay(clock()) !== day || (size > 0 && size + bytes > maxBytes)) rotate();
        fs.writeSync(fd ?? open(), line);
        size += bytes;
      } catch {
        dropped++;
      }
    },
    rotate,
    get dropped() {
      return dropped;
    },
    close() {
      closed = true;
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}
