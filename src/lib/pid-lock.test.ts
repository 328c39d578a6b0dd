import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquirePidLock, pidLockHolder } from './pid-lock.js';

describe('pid lock files', () => {
  let dir: string;
  let file: string;
  const locked = (pid: number | undefined) => new Error(`locked by ${pid}`);
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-pid-lock-'));
    file = path.join(dir, 'store.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is held by the process that took it until it releases it; a second taker is refused', () => {
    const release = acquirePidLock(file, locked);
    expect(fs.readFileSync(file, 'utf8')).toBe(String(process.pid));
    expect(pidLockHolder(file)).toBe(process.pid);
    expect(() => acquirePidLock(file, locked)).toThrow(`locked by ${process.pid}`);
    release();
    expect(fs.existsSync(file)).toBe(false);
    expect(pidLockHolder(file)).toBeUndefined();
  });

  it('refuses while another live process holds it', () => {
    fs.writeFileSync(file, String(process.ppid));
    expect(pidLockHolder(file)).toBe(process.ppid);
    expect(() => acquirePidLock(file, locked)).toThrow(`locked by ${process.ppid}`);
    expect(fs.readFileSync(file, 'utf8')).toBe(String(process.ppid));
  });

  it('takes over the lock of a process that is gone', () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(file, String(gone));
    expect(pidLockHolder(file)).toBeUndefined();
    acquirePidLock(file, locked)();
  });

  it("takes over a lock naming this process's pid that this process never took (a restarted container)", () => {
    // A killed predecessor with the same pid (PID 1 in a container, or the same start-up order) left it.
    fs.writeFileSync(file, String(process.pid));
    expect(pidLockHolder(file)).toBeUndefined();
    const release = acquirePidLock(file, locked);
    expect(pidLockHolder(file)).toBe(process.pid);
    release();
  });

  it('treats an unreadable pid as free', () => {
    fs.writeFileSync(file, 'not a pid');
    expect(pidLockHolder(file)).toBeUndefined();
    acquirePidLock(file, locked)();
  });
});
