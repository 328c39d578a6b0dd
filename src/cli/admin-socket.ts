import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AppContext } from '../app/context.js';
import { isAppError } from '../lib/errors.js';
import type { CommandResult } from './command.js';
import { storeCommands } from './registry.js';

/**
 * While `serve` holds the embedded store, CLI commands reach it through a Unix socket in the data dir (0600,
 * so only the owner of the data dir can use it). The protocol is one JSON request, one JSON answer.
 */
export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, 'admin.sock');
}

export async function runStoreCommand(
  ctx: AppContext,
  name: string,
  args: Record<string, unknown>,
): Promise<CommandResult> {
  const command = storeCommands[name];
  if (!command) return { exitCode: 2, notes: [`unknown command: ${name}`] };
  try {
    return await command(ctx, args);
  } catch (err) {
    if (isAppError(err)) return { exitCode: 1, notes: [`${err.code}: ${err.message}`] };
    ctx.logger.error({ err, command: name }, 'command failed');
    return { exitCode: 1, notes: [`${name} failed: ${(err as Error).message}`] };
  }
}

export async function listenAdminSocket(ctx: AppContext): Promise<() => Promise<void>> {
  const file = adminSocketPath(ctx.config.dataDir);
  fs.rmSync(file, { force: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let result: CommandResult;
        try {
          const { command, args } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            command: string;
            args: Record<string, unknown>;
          };
          result = await runStoreCommand(ctx, String(command), args ?? {});
        } catch {
          result = { exitCode: 2, notes: ['bad admin request'] };
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      })();
    });
  });
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
  } finally {
    process.umask(previous);
  }
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      fs.rmSync(file, { force: true });
    });
}

export function callAdminSocket(
  dataDir: string,
  command: string,
  args: Record<string, unknown>,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: adminSocketPath(dataDir),
        path: '/run',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CommandResult);
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ command, args }));
  });
}
