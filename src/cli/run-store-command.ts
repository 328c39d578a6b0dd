import pino from 'pino';
import { createContext } from '../app/context.js';
import type { Config } from '../config/config.js';
import { storeHolder } from '../lib/db/database.js';
import { createLogger } from '../lib/log.js';
import { callAdminSocket, runStoreCommand } from './admin-socket.js';
import type { CommandResult } from './command.js';
import type { CliIo } from './io.js';

export function printResult(io: CliIo, result: CommandResult): number {
  for (const note of result.notes ?? []) io.err(note);
  if (result.output !== undefined) {
    io.out(typeof result.output === 'string' ? result.output : JSON.stringify(result.output, null, 2));
  }
  return result.exitCode;
}

/**
 * Run a store command where the store is: in this process, or in the `serve` process holding the embedded
 * store (through its admin socket). With PostgreSQL every process opens the store itself.
 */
export async function runWithStore(
  config: Config,
  io: CliIo,
  name: string,
  args: Record<string, unknown>,
): Promise<number> {
  const holder = config.databaseUrl ? undefined : storeHolder(config.dataDir);
  if (holder !== undefined && holder !== process.pid) {
    return printResult(io, await callAdminSocket(config.dataDir, name, args));
  }
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
  const ctx = await createContext(config, { logger });
  try {
    return printResult(io, await runStoreCommand(ctx, name, args));
  } finally {
    await ctx.close();
  }
}
