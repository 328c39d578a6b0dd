import type { CliDefinition } from '../main.js';
import { defineAdmin } from './admin.js';
import { defineApiKey } from './apikey.js';
import { defineAudit } from './audit.js';
import { defineDatamap } from './datamap.js';
import { defineDlq } from './dlq.js';
import { defineDsr } from './dsr.js';
import { defineFlowToken } from './flow-token.js';
import { defineKeys } from './keys.js';
import { defineMigrate } from './migrate.js';
import { defineRequests } from './requests.js';
import { defineRestoreReplay } from './restore-replay.js';
import { defineRetention } from './retention.js';
import { defineServe } from './serve.cli.js';
import { defineSimulate } from './simulate.js';
import { defineTenant } from './tenant.js';

/** Every top-level command; each file registers its store commands and its commander definition. */
export const cliDefinitions: CliDefinition[] = [
  defineServe,
  defineMigrate,
  defineKeys,
  defineTenant,
  defineApiKey,
  defineAdmin,
  defineFlowToken,
  defineAudit,
  defineDsr,
  defineRequests,
  defineSimulate,
  defineDlq,
  defineDatamap,
  defineRetention,
  defineRestoreReplay,
];
