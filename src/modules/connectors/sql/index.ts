import type { IdentityFormat } from '../../../config/datamap.js';
import { PermanentError } from '../errors.js';
import type { Connector, SubjectIdentifiers } from '../port.js';
import { isSqlConnector } from './sql-connector.js';

export { isSqlConnector, type SqlConnector } from './sql-connector.js';

/**
 * ConnectorDeps.sqlColumnValues over a data map's connectors: object stores ask a SQL system of the data map
 * for the object keys its rows hold for a person. Call it BEFORE that SQL system erases the rows.
 */
export function sqlColumnValuesFrom(lookup: (systemId: string) => Connector | undefined) {
  return (
    systemId: string,
    table: string,
    identity: { column: string; format: IdentityFormat },
    column: string,
    ids: SubjectIdentifiers,
  ): Promise<string[]> => {
    const c = lookup(systemId);
    if (!isSqlConnector(c))
      return Promise.reject(new PermanentError('sql_system_unknown', `${systemId}: not a SQL system`));
    return c.columnValues(table, identity, column, ids);
  };
}
