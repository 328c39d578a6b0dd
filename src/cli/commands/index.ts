import type { CliDefinition } from '../main.js';
import { defineKeys } from './keys.js';
import { defineMigrate } from './migrate.js';
import { defineServe } from './serve.cli.js';
import { defineTenant } from './tenant.js';

/** Every top-level command; each file registers its store commands and its commander definition. */
export const cliDefinitions: CliDefinition[] = [defineServe, defineMigrate, defineKeys, defineTenant];
