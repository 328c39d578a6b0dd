import { startNotifyWorker } from '../modules/dsr/index.js';
import { startScheduledChecks } from '../modules/alerts/scheduled-checks.js';
import { startConnectorWorker } from '../modules/connectors/connector.worker.js';
import { startForwardWorker } from '../modules/forwarding/index.js';
import { startRetentionWorker } from '../modules/retention/index.js';
import type { AppContext } from './context.js';
import { startKeyRefresh, startShredWorker } from '../modules/keys/index.js';
import { startMediaWorkers } from '../modules/media/index.js';

/** Queue workers run by `serve` and `worker`. Each module that owns a queue adds its starter here. */
export type WorkerStarter = (ctx: AppContext) => Promise<void>;

const starters: WorkerStarter[] = [];

export function addWorker(starter: WorkerStarter): void {
  starters.push(starter);
}

export async function startWorkers(ctx: AppContext): Promise<void> {
  for (const start of starters) await start(ctx);
}

addWorker(startForwardWorker);
addWorker(startNotifyWorker);
addWorker(startConnectorWorker);
addWorker(startScheduledChecks);
addWorker(startRetentionWorker);
addWorker(startShredWorker);
addWorker(startKeyRefresh);
addWorker(startMediaWorkers);
