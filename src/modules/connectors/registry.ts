import type { SystemSpec } from '../../config/datamap.js';
import type { Connector, ConnectorDeps, ConnectorFactory } from './port.js';

/**
 * Connector factories by system type. Each connector lives in its own folder (./postgres, ./redis, …), listed
 * in ./connectors.ts, and registers its factory here when that folder is imported (loadConnectors).
 */
const factories: Partial<{ [T in SystemSpec['type']]: ConnectorFactory<Extract<SystemSpec, { type: T }>> }> =
  {};

export function registerConnector<T extends SystemSpec['type']>(
  type: T,
  factory: ConnectorFactory<Extract<SystemSpec, { type: T }>>,
): void {
  (factories as Record<string, unknown>)[type] = factory;
}

export function createConnector(spec: SystemSpec, deps: ConnectorDeps): Connector {
  const factory = factories[spec.type] as ConnectorFactory | undefined;
  if (!factory) throw new Error(`no connector loaded for system type ${spec.type} (see loadConnectors)`);
  return factory(spec, deps);
}
