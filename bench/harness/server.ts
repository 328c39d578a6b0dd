import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { repoRoot, type BenchStore } from './store.js';

/**
 * `flowguard serve` as its own process (built `dist/`, as `npm start` runs it), so the load generator and the
 * server do not share an event loop. Its logs go to a file in the store's directory.
 */
export interface ServerProcess {
  pid: number;
  baseUrl: string;
  logFile: string;
  /** The last error-level log lines (flowguard's logs carry no personal data), to explain a failed run. */
  errors(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(baseUrl: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
  child.kill('SIGKILL');
  throw new Error(`bench: flowguard serve did not become ready${exited ? ' (it exited)' : ''}:\n${tail}`);
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Node options for the server, e.g. --cpu-prof for a profile written when it stops. */
  nodeArgs?: string[];
}

export async function startServer(store: BenchStore, opts: StartOptions = {}): Promise<ServerProcess> {
  const root = repoRoot();
  const bin = path.join(root, 'bin', 'flowguard.js');
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('bench: dist/ is missing; run `npm run build` first');
  }
  const port = await freePort();
  const logFile = path.join(store.dir, `server-${Date.now()}.log`);
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), bin, 'serve', '--port', String(port), '--host', '127.0.0.1'],
    {
      cwd: store.dir,
      env: { ...store.env, ...opts.env },
      stdio: ['ignore', out, out],
    },
  );
  fs.closeSync(out);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(baseUrl, child, logFile);
  return {
    pid: child.pid!,
    baseUrl,
    logFile,
    errors() {
      const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n') : [];
      return lines
        .filter((l) => /"level":(50|60)/.test(l))
        .slice(-3)
        .join('\n');
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
