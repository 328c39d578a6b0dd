import type { SystemSpec } from '../../../config/datamap.js';
import { registerConnector } from '../registry.js';
import { createSqlConnector, type SqlConnector } from '../sql/sql-connector.js';
import { DEFAULT_SQL_TIMEOUTS, type SqlTimeouts } from '../sql/sql-driver.js';
import { createMysqlDriver } from './mysql-driver.js';

type MysqlSpec = Extract<SystemSpec, { type: 'mysql' }>;

/** A MySQL or MariaDB system of the data map (`url`: a mysql:// connection string). */
export function createMysqlConnector(
  spec: MysqlSpec,
  timeouts: SqlTimeouts = DEFAULT_SQL_TIMEOUTS,
): SqlConnector {
  return createSqlConnector(spec, () => createMysqlDriver(spec.url, timeouts));
}

registerConnector('mysql', (spec) => createMysqlConnector(spec));
