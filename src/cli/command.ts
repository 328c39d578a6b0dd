import type { AppContext } from '../app/context.js';

/**
 * A store command runs against an AppContext. The CLI runs it in-process when it can open the store, or sends
 * it to the running server over the admin socket when the embedded store is held by `serve`. Output is text
 * (printed as is) or a JSON value (printed as JSON), so both paths print the same thing.
 */
export interface CommandResult {
  exitCode: number;
  output?: unknown;
  /** Human notes for stderr (warnings, progress summaries). */
  notes?: string[];
}

export type StoreCommand = (ctx: AppContext, args: Record<string, unknown>) => Promise<CommandResult>;

export function ok(output: unknown, notes?: string[]): CommandResult {
  return { exitCode: 0, output, ...(notes ? { notes } : {}) };
}

export function fail(message: string, exitCode = 1): CommandResult {
  return { exitCode, notes: [message] };
}
