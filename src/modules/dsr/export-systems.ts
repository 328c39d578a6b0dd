import type { Kysely } from 'kysely';
import type { SystemSpec } from '../../config/datamap.js';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';

/** How long what a system returns for an access request is kept (sealed) for the person to download. */
const EXPORT_TTL_DAYS = 30;

/** AAD binding a system's sealed export to its request and system: request_exports.body.<request>.<system> */
function exportAad(requestId: string, systemId: string): string {
  return `request_exports.body.${requestId}.${systemId}`;
}

/** What one place of a system holds about the person, as its connector exported it. */
export interface ExportedPlace {
  /** The place inside the system (table, key pattern, prefix): a name, never a value. */
  where: string;
  category: string;
  records: Record<string, unknown>[];
}

/** One place of one data-map system in the access bundle. */
export type SystemExport = { system_id: string } & ExportedPlace;

/** A data-map system marked `recipient: true`: a third party the person's data is disclosed to (Art. 15(1)(c)). */
export interface SystemRecipient {
  system_id: string;
  name: string;
  category: string | undefined;
}

export interface SystemsSection {
  systems: SystemExport[];
  recipients: SystemRecipient[];
}

/** Store what a system exported for an access request, sealed, until the export expires (idempotent). */
export async function storeSystemExport(
  db: Kysely<DB>,
  deps: { keyring: Pick<Keyring, 'sealSecret'>; clock: () => Date },
  input: { requestId: string; systemId: string; exported: ExportedPlace[] },
): Promise<void> {
  const body = deps.keyring.sealSecret(
    JSON.stringify(input.exported),
    exportAad(input.requestId, input.systemId),
  );
  const expires = new Date(deps.clock().getTime() + EXPORT_TTL_DAYS * 86_400_000);
  await db
    .insertInto('request_exports')
    .values({ request_id: input.requestId, system_id: input.systemId, body, expires_at: expires })
    .onConflict((oc) =>
      oc.columns(['request_id', 'system_id']).doUpdateSet({
        body: (eb) => eb.ref('excluded.body'),
        expires_at: (eb) => eb.ref('excluded.expires_at'),
      }),
    )
    .execute();
}

/**
 * The data-map part of an access bundle: what every system exported for this request (unsealed, in data-map
 * order, one entry per place), and the systems the data map names as recipients. Exports past their expiry
 * are left out (the request can be made again).
 */
export async function exportSystems(
  db: Kysely<DB>,
  deps: { keyring: Pick<Keyring, 'openSecret'>; config: { systems: SystemSpec[] } },
  requestId: string,
  now: Date,
): Promise<SystemsSection> {
  const rows = await db
    .selectFrom('request_exports')
    .select(['system_id', 'body'])
    .where('request_id', '=', requestId)
    .where('expires_at', '>', now)
    .execute();
  const order = new Map(deps.config.systems.map((s, i) => [s.id, i]));
  rows.sort((a, b) => (order.get(a.system_id) ?? 1e9) - (order.get(b.system_id) ?? 1e9));
  const systems: SystemExport[] = [];
  for (const row of rows) {
    const sealed = deps.keyring.openSecret(row.body, exportAad(requestId, row.system_id));
    const exported = JSON.parse(sealed) as ExportedPlace[];
    for (const e of exported) {
      systems.push({ system_id: row.system_id, where: e.where, category: e.category, records: e.records });
    }
  }
  const recipients = deps.config.systems
    .filter((s) => s.recipient)
    .map((s) => ({ system_id: s.id, name: s.name ?? s.id, category: s.category }));
  return { systems, recipients };
}
