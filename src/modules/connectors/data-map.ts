import { mustWaitFor, type SystemSpec } from '../../config/datamap.js';
import type { Connector, ConnectorDeps } from './port.js';
import { loadConnectors } from './connectors.js';
import { createConnector } from './registry.js';
import { sqlColumnValuesFrom } from './sql/index.js';

/** Where systems that accepted an erasure confirm it later: POST `<base>/callbacks/systems/<system>/<request>`. */
export const CALLBACK_PATH = '/callbacks/systems';

/**
 * The callback URL the http connector sends with an erasure: under `server.publicUrl` when set (it must be,
 * when flowguard runs behind a proxy or as several processes), else the configured `http(s)://HOST:PORT`.
 * Without a usable base (port 0, no public URL) there is none, and receivers must answer synchronously.
 */
export function httpCallbackUrl(server: {
  publicUrl: string | undefined;
  host: string;
  port: number;
  tls?: unknown;
}): ConnectorDeps['callbackUrl'] {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  const base =
    server.publicUrl ?? (server.port ? `${server.tls ? 'https' : 'http'}://${host}:${server.port}` : '');
  if (!base) return undefined;
  const root = base.replace(/\/+$/, '');
  return (requestId, systemId) =>
    `${root}${CALLBACK_PATH}/${encodeURIComponent(systemId)}/${encodeURIComponent(requestId)}`;
}

/**
 * The live data map of one process: one connector per system, created on first use and kept (connection
 * pools are per system), closed on shutdown. Only the connector modules of the types it uses are imported.
 */
export async function createDataMap(systems: SystemSpec[], extra: Omit<ConnectorDeps, 'lookup'> = {}) {
  await loadConnectors(systems.map((s) => s.type));
  const connectors = new Map<string, Connector>();
  const byId = new Map(systems.map((s) => [s.id, s]));
  const deps: ConnectorDeps = {
    ...extra,
    lookup: (id) => get(id),
    sqlColumnValues: sqlColumnValuesFrom((id) => get(id)),
  };
  function get(id: string): Connector | undefined {
    let c = connectors.get(id);
    if (!c) {
      const spec = byId.get(id);
      if (!spec) return undefined;
      c = createConnector(spec, deps);
      connectors.set(id, c);
    }
    return c;
  }
  return {
    systems,
    /**
     * Object stores that find object keys in a SQL system's rows must erase before that system does, or the
     * keys are gone: the ids of the systems that must finish first, for an erasure on `systemId`.
     */
    mustWaitFor: (systemId: string) => mustWaitFor(systems, systemId),
    spec: (id: string) => byId.get(id),
    get,
    async close(): Promise<void> {
      await Promise.allSettled([...connectors.values()].map((c) => c.close()));
      connectors.clear();
    },
  };
}

export type DataMap = Awaited<ReturnType<typeof createDataMap>>;
