import type { StoreCommand } from './command.js';

/**
 * Every command that needs the store, by name. The admin socket accepts exactly these names.
 * Modules add their commands in ./commands and list them here.
 */
export const storeCommands: Record<string, StoreCommand> = {};

export function registerStoreCommand(name: string, command: StoreCommand): void {
  storeCommands[name] = command;
}
