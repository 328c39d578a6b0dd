import type { Connector, ConnectorDeps } from '../port.js';
import { createObjectStoreConnector } from '../object-store/object-store-connector.js';
import { registerConnector } from '../registry.js';
import { createAzureBackend, type AzureBlobSpec } from './azure-backend.js';

/** An Azure Blob Storage container of the data map (`connectionString` + `container`). */
export function createAzureBlobConnector(spec: AzureBlobSpec, deps: ConnectorDeps): Connector {
  return createObjectStoreConnector(spec, deps, () => createAzureBackend(spec), spec.container);
}

registerConnector('azure-blob', createAzureBlobConnector);
