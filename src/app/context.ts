import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { createQueue, type Queue } from '../jobs/queue.js';
import { createAlerter, type Alerter } from '../modules/alerts/alerts.js';
import { createDataMap, httpCallbackUrl, type DataMap } from '../modules/connectors/data-map.js';
import { parseFlowsPrivateKey } from '../lib/crypto/flow-crypto.js';
import { loadOrCreateMasterKey, type Keyring } from '../lib/crypto/index.js';
import { openDatabase, type Database } from '../lib/db/database.js';
import { maintenanceWarnings } from '../lib/db/maintenance-settings.js';
import { migrate } from '../lib/db/migrate.js';
import { createAppLogger } from '../lib/logs/app-logger.js';
import { createMetrics, type Metrics } from '../lib/metrics.js';
import { registerComplianceMetrics } from '../modules/compliance/compliance-metrics.js';
import { moveLegacyKeys, openKeyring, openKeyStore, type KeyStore } from '../modules/keys/index.js';
import {
  createSubjectKeys,
  createSubjectResolver,
  type SubjectKeys,
  type SubjectResolver,
} from '../modules/subjects/index.js';
import {
  createTenantRegistry,
  ensureDefaultTenant,
  type DefaultTenantReport,
  type PrivateKeyParser,
  type TenantRegistry,
} from '../modules/tenants/index.js';

/** Everything a use case may need, built once per process. Modules narrow it with Pick<>. */
export interface AppContext {
  config: Config;
  logger: Logger;
  database: Database;
  keyring: Keyring;
  /** Subject data keys, purpose keys and the erasure journal, apart from the database (ADR 0003). */
  keyStore: KeyStore;
  tenants: TenantRegistry;
  subjectKeys: SubjectKeys;
  subjects: SubjectResolver;
  metrics: Metrics;
  queue: Queue;
  /** The data map's connectors (created on first use, closed with the context). */
  dataMap: DataMap;
  alerter: Alerter;
  clock: () => Date;
  defaultTenantReport: DefaultTenantReport;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
  /** Tests: start the embedded store from a migrated template instead of creating one (seconds saved). */
  loadDataDir?: Blob;
  inMemory?: boolean;
  parsePrivateKey?: PrivateKeyParser;
  clock?: () => Date;
  /** Run queue workers and maintenance in this process (serve, worker); CLI commands only enqueue. */
  work?: boolean;
}

export async function createContext(config: Config, opts: ContextOptions = {}): Promise<AppContext> {
  // serve/worker: stdout plus the optional log file; CLI commands and tests bring their own logger.
  const appLogger = opts.logger
    ? { logger: opts.logger, close: () => {} }
    : createAppLogger(config, { clock: opts.clock });
  const logger = appLogger.logger;
  const masterKey = loadOrCreateMasterKey(config.masterKey, config.dataDir, (m) => logger.warn(m));
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    loadDataDir: opts.loadDataDir,
    inMemory: opts.inMemory,
    preparedStatements: config.dbPreparedStatements,
  });
  let keyStore: KeyStore | undefined;
  try {
    const { applied } = await migrate(database);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    for (const warning of await maintenanceWarnings(database)) logger.warn(warning);
    keyStore = await openKeyStore(config, logger);
    const keyring = await openKeyring(keyStore, { current: masterKey, previous: config.previousMasterKeys });
    const moved = await moveLegacyKeys({ db: database.db, keyring, keyStore });
    if (moved) logger.info({ keys: moved }, 'subject keys moved from the database to the key store');
    const defaultTenantReport = await ensureDefaultTenant({ db: database.db, keyring }, config.defaultTenant);
    const tenants = createTenantRegistry({
      db: database.db,
      keyring,
      parsePrivateKey: opts.parsePrivateKey ?? parseFlowsPrivateKey,
    });
    await tenants.reload();
    const metrics = createMetrics();
    registerComplianceMetrics(metrics.registry, {
      db: database.db,
      reengagementTenants: async () =>
        (await tenants.all()).filter((t) => t.settings.reengagement.enabled).map((t) => t.id),
    });
    const queue = createQueue(database, logger, {
      work: opts.work ?? false,
      overrides: config.queues,
      maintenanceIntervalSeconds: config.queueMaintenanceIntervalSeconds,
    });
    const subjectKeys = createSubjectKeys({ keyring, keyStore });
    const dataMap = await createDataMap(config.systems, { callbackUrl: httpCallbackUrl(config.server) });
    const alerter = createAlerter({ webhookUrl: config.alerts.webhookUrl, db: database.db, logger, metrics });
    await queue.start();
    return {
      config,
      logger,
      database,
      keyring,
      keyStore,
      tenants,
      subjectKeys,
      subjects: createSubjectResolver({ keyring, keys: subjectKeys }),
      metrics,
      queue,
      dataMap,
      alerter,
      clock: opts.clock ?? (() => new Date()),
      defaultTenantReport,
      async close() {
        await queue.stop();
        await dataMap.close();
        await database.close();
        await keyStore?.close();
        appLogger.close();
      },
    };
  } catch (err) {
    await database.close();
    await keyStore?.close();
    appLogger.close();
    throw err;
  }
}
