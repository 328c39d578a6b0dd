import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

export const BIN = path.resolve(import.meta.dirname, '../../bin/flowguard.js');

/** Run the CLI in this process with captured output; env is the whole environment the command sees. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  opts: { cwd?: string; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`),
    env,
    cwd: opts.cwd ?? process.cwd(),
    readStdin: async () => opts.stdin,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

export interface ServeProcess {
  child: ChildProcess;
  baseUrl: string;
  stdout: () => string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Start `flowguard serve` as a real process (the built bin) and wait for its banner. `port` 0 (default): any free
 * port; a fixed one lets clients keep the address across a restart.
 */
export function startServe(
  env: Record<string, string | undefined>,
  cwd: string,
  timeoutMs = 60_000,
  port = 0,
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err.slice(-2000)}`)), timeoutMs);
    const check = () => {
      const m = /listening on (https?:\/\/[^\s]+)/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve({
        child,
        baseUrl: m[1]!,
        stdout: () => out,
        stderr: () => err,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}
