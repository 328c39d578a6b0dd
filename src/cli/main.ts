import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { isAppError } from '../lib/errors.js';
import { cliDefinitions } from './commands/index.js';
import { processIo, type CliIo } from './io.js';
import { runWithStore } from './run-store-command.js';

export interface CliHelpers {
  io: CliIo;
  /** Load and validate configuration (once); a bad setting ends the command with one clear line. */
  config(): Config;
  /** Run a registered store command in-process or through the running server. */
  runStore(name: string, args: Record<string, unknown>): Promise<number>;
  setExitCode(code: number): void;
}

export type CliDefinition = (program: Command, h: CliHelpers) => void;

/** Exit code for a configuration error (sysexits EX_CONFIG). */
export const EXIT_CONFIG = 78;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode = 0;
  let config: Config | undefined;
  const h: CliHelpers = {
    io,
    config: () => (config ??= loadConfig(io.env, io.cwd)),
    runStore: (name, args) => runWithStore(h.config(), io, name, args),
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = new Command('flowguard')
    .description('Privacy backend for WhatsApp Flows')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();
  for (const define of cliDefinitions) define(program, h);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      io.err(`flowguard: ${err.message}`);
      return EXIT_CONFIG;
    }
    if (isAppError(err)) {
      io.err(`flowguard: ${err.code}: ${err.message}`);
      return 1;
    }
    io.err(`flowguard: ${(err as Error).message}`);
    return 1;
  }
}
