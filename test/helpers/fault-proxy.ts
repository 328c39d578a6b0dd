import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, for fault tests without stopping shared services:
 * `cut()` refuses and drops every connection, `slow(ms)` delays each chunk, `restore()` passes traffic again.
 */
export interface FaultProxy {
  port: number;
  host: string;
  cut(): void;
  slow(ms: number): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: { kind: 'pass' } | { kind: 'cut' } | { kind: 'slow'; ms: number } = { kind: 'pass' };
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (mode.kind === 'cut') {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    open.add(client);
    open.add(upstream);
    const forget = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (mode.kind === 'cut') return forget();
        if (mode.kind === 'slow') {
          from.pause();
          setTimeout(() => {
            to.write(chunk);
            from.resume();
          }, mode.ms);
        } else to.write(chunk);
      });
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    host: '127.0.0.1',
    cut() {
      mode = { kind: 'cut' };
      for (const s of open) s.destroy();
      open.clear();
    },
    slow(ms) {
      mode = { kind: 'slow', ms };
    },
    restore() {
      mode = { kind: 'pass' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
