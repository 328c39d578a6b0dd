import type { SystemSpec } from '../../config/datamap.js';

/**
 * Every built-in connector, one line per connector folder. A folder's module, and the SDK it brings (AWS,
 * Azure, MySQL, Redis…), is imported only when a data map has a system of its type: a process whose data map
 * does not use S3 never loads the AWS SDK. Importing a folder registers its factory (./registry.ts).
 */
const modules: { [T in SystemSpec['type']]: () => Promise<unknown> } = {
  postgres: () => import('./postgres/index.js'),
  mysql: () => import('./mysql/index.js'),
  hubspot: () => import('./hubspot/index.js'),
  http: () => import('./http/index.js'),
  logfiles: () => import('./logfiles/index.js'),
  redis: () => import('./redis/index.js'),
  s3: () => import('./s3/index.js'),
  'azure-blob': () => import('./azure-blob/index.js'),
};

/** Import the connectors of these system types (a type already imported costs nothing). */
export async function loadConnectors(types: Iterable<SystemSpec['type']>): Promise<void> {
  await Promise.all([...new Set(types)].map((type) => modules[type]()));
}
