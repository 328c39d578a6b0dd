import type { SystemSpec } from '../../../config/datamap.js';
import { registerConnector } from '../registry.js';
import { createSqlConnector, type SqlConnector } from '../sql/sql-connector.js';
import { DEFAULT_SQL_TIMEOUTS, type SqlTimeouts } from '../sql/sql-driver.js';
import { createPgDriver } from './pg-driver.js';

type PostgresSpec = Extract<SystemSpec, { type: 'postgres' }>;

/** A PostgreSQL system of the data map (`url`: a postgres:// connection string). */
export function createPostgresConnector(
  spec: PostgresSpec,
  timeouts: SqlTimeouts = DEFAULT_SQL_TIMEOUTS,
): SqlConnector {
  return createSqlConnector(spec, () => createPgDriver(spec.url, timeouts));
}

registerConnector('postgres', (spec) => createPostgresConnector(spec));
