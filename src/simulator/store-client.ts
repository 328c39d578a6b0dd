import pino from 'pino';
import { createContext, type AppContext } from '../app/context.js';
import { callAdminSocket, runStoreCommand } from '../cli/admin-socket.js';
import type { CommandResult } from '../cli/command.js';
import type { Config } from '../config/config.js';
import { storeHolder } from '../lib/db/database.js';
import { createLogger } from '../lib/log.js';

/**
 * Runs store commands for the simulator and hands back their output (the CLI's own runner prints it). While
 * `serve` holds the embedded store the commands go through its admin socket (0600, in the data dir); otherwise
 * (PostgreSQL) the store is opened once in this process and closed at the end.
 */
export interface StoreClient {
  run(name: string, args: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

export class StoreCommandError extends Error {
  constructor(name: string, result: CommandResult) {
    super(`${name}: ${(result.notes ?? []).join('; ') || `exit code ${result.exitCode}`}`);
    this.name = 'StoreCommandError';
  }
}

export function createStoreClient(config: Config): StoreClient {
  let ctx: Promise<AppContext> | undefined;
  const viaSocket = () => {
    const holder = config.databaseUrl ? undefined : storeHolder(config.dataDir);
    return holder !== undefined && holder !== process.pid;
  };
  const local = () =>
    (ctx ??= createContext(config, {
      logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2)),
    }));
  return {
    async run(name, args) {
      const result = viaSocket()
        ? await callAdminSocket(config.dataDir, name, args).catch((err: Error) => {
            throw new StoreCommandError(name, {
              exitCode: 1,
              notes: [
                `the running server's admin socket in ${config.dataDir} did not answer (${err.message})`,
              ],
            });
          })
        : await runStoreCommand(await local(), name, args);
      if (result.exitCode !== 0) throw new StoreCommandError(name, result);
      return result.output;
    },
    async close() {
      if (ctx) await (await ctx).close();
    },
  };
}
