import type { Connector, ConnectorDeps } from '../port.js';
import { createObjectStoreConnector } from '../object-store/object-store-connector.js';
import { registerConnector } from '../registry.js';
import { createS3Backend, type S3Spec } from './s3-backend.js';

/** An S3 bucket of the data map (AWS, or any S3-compatible endpoint with `endpoint` + `forcePathStyle`). */
export function createS3Connector(spec: S3Spec, deps: ConnectorDeps): Connector {
  return createObjectStoreConnector(spec, deps, () => createS3Backend(spec), spec.bucket);
}

registerConnector('s3', createS3Connector);
