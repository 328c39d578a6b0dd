import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import { openFileKeyStore } from './file-key-store.js';
import type { KeyStore } from './key-store.js';
import { openPgKeyStore } from './pg-key-store.js';

const CO_LOCATED_WARNING =
  'FLOWGUARD_KEYSTORE_URL is not set: subject keys are kept in the same PostgreSQL database as the data, so a ' +
  "restored database backup brings erased people's keys back (crypto-shredding does not survive a restore). " +
  'Set FLOWGUARD_KEYSTORE_URL to a separate database with its own short-retention backups.';

/**
 * Where the keys live: FLOWGUARD_KEYSTORE_URL (a separate PostgreSQL database) when set; otherwise the file
 * store in `FLOWGUARD_DATA_DIR/keys` for the embedded store, or, with DATABASE_URL, the `keystore` schema of
 * the main database with a warning on every start (a separate schema is not enough: its backups include it).
 */
export async function openKeyStore(
  config: Pick<Config, 'keyStoreUrl' | 'databaseUrl' | 'dataDir'>,
  logger: Pick<Logger, 'warn'>,
): Promise<KeyStore> {
  if (config.keyStoreUrl) return openPgKeyStore(config.keyStoreUrl, { separate: true });
  if (config.databaseUrl) {
    logger.warn(CO_LOCATED_WARNING);
    return openPgKeyStore(config.databaseUrl, { separate: false });
  }
  return openFileKeyStore(path.join(config.dataDir, 'keys'));
}
