import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BIN } from './cli.js';

/**
 * `flowguard worker` as a real process (the built bin: run `npm run build` first), for scale-out tests: several
 * of them on one PostgreSQL, each started with the same environment, and some killed with SIGKILL mid-task.
 */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** Dies at once, as on a power cut or an OOM kill: no drain, no pg-boss shutdown. */
  kill(): Promise<void>;
  /** SIGTERM (drains and exits 0), then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export async function startWorkerProcess(
  env: Record<string, string | undefined>,
  cwd: string,
  timeoutMs = 30_000,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start in ${timeoutMs} ms: ${out.slice(-2000)}`));
    }, timeoutMs);
    const check = () => {
      if (!out.includes('"msg":"flowguard worker started"')) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve();
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}: ${out.slice(-2000)}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Inodes of the sockets in /proc/net/tcp(6) whose local end is `localPort` and remote end `remotePort`. */
function socketInodes(localPort: number, remotePort: number): string[] {
  const inodes: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = parseInt(f[1]?.split(':')[1] ?? '', 16);
      const remote = parseInt(f[2]?.split(':')[1] ?? '', 16);
      if (local === localPort && remote === remotePort && f[9] && f[9] !== '0') inodes.push(f[9]);
    }
  }
  return inodes;
}

/**
 * Which of `pids` holds the client end of a TCP connection a local server accepted (Linux /proc): the kernel's
 * own record of who is talking, so a test can tell which process did a piece of work without the product
 * marking its requests. Call it when the connection is accepted; undefined when no candidate holds it.
 */
export function tcpPeerPid(socket: Socket, pids: number[]): number | undefined {
  if (!socket.remotePort || !socket.localPort) return undefined;
  const inodes = socketInodes(socket.remotePort, socket.localPort).map((i) => `socket:[${i}]`);
  if (!inodes.length) return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone
    }
    for (const fd of fds) {
      try {
        if (inodes.includes(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) return pid;
      } catch {
        // closed while we looked
      }
    }
  }
  return undefined;
}

export interface EraseCall {
  requestId: string;
  pid: number | undefined;
  startedAt: number;
  endedAt: number | undefined;
}

export type CountingReceiver = Awaited<ReturnType<typeof startCountingReceiver>>;

/**
 * A business's own service for the http connector (signed requests, as in src/modules/connectors/http/README.md)
 * that is slow and keeps count: every erase takes `eraseMs` and is recorded with the request id and the pid,
 * among `pids()`, of the process that asked. It holds one profile per identifier in `held` (digits).
 */
export async function startCountingReceiver(secret: string, eraseMs: number, pids: () => number[]) {
  const held = new Set<string>();
  const erases: EraseCall[] = [];
  const peers = new WeakMap<object, number | undefined>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const answer = (status: number, body: unknown) => {
        if (!res.destroyed)
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const got = Buffer.from(String(req.headers['x-flowguard-signature-256'] ?? ''));
      const want = Buffer.from(`sha256=${crypto.createHmac('sha256', secret).update(raw).digest('hex')}`);
      if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return answer(401, {});
      const body = JSON.parse(raw.toString('utf8')) as {
        action: string;
        request_id: string | null;
        identifiers: { digits: string[] };
        timestamp: number;
      };
      if (Math.abs(Date.now() / 1000 - body.timestamp) > 300) return answer(401, {});
      const digits = body.identifiers.digits;
      const count = () => digits.filter((d) => held.has(d)).length;
      if (body.action === 'export') return answer(200, { records: [] });
      if (body.action !== 'erase') return answer(200, { counts: { profiles: count() } }); // locate, verify
      const call: EraseCall = {
        requestId: String(body.request_id),
        pid: peers.get(req.socket),
        startedAt: Date.now(),
        endedAt: undefined,
      };
      erases.push(call);
      setTimeout(() => {
        // The service finishes its work even when the caller is gone; erasing twice is harmless.
        const n = count();
        for (const d of digits) held.delete(d);
        call.endedAt = Date.now();
        answer(200, { status: 'done', counts: { profiles: n } });
      }, eraseMs);
    });
  });
  server.on('connection', (socket) => peers.set(socket, tcpPeerPid(socket, pids())));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/flowguard`,
    held,
    erases,
    close: () =>
      new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
