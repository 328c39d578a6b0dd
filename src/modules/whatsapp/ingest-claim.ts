import type { Executor, IngestDeps } from './ingest-deps.js';
import type { RoutedEvent } from './ingest-routing.js';

/** The hashed de-duplication key of one event: wamids embed phone numbers, so the raw key is never stored. */
export function storedEventKey(deps: Pick<IngestDeps, 'keyring'>, tenantId: string, rawKey: string): string {
  return deps.keyring.hmac('event-id', `${tenantId}\u0000${rawKey}`);
}

/** The key under the other held event-id versions (a delivery seen before a new version started). */
export function olderEventKeys(
  deps: Pick<IngestDeps, 'keyring'>,
  tenantId: string,
  rawKey: string,
  key: string,
) {
  return deps.keyring.hmacAll('event-id', `${tenantId}\u0000${rawKey}`).filter((k) => k !== key);
}

const CLAIM_CHUNK = 5000;

/**
 * Claims events in processed_events; returns the `tenant\0key` pairs that were new. Rows go in sorted order so
 * concurrent deliveries of overlapping events lock them in the same order (no deadlock), a chunk per statement.
 * An event already claimed under an older event-id key version is not new either.
 */
export async function claim(
  tx: Executor,
  keyed: readonly { r: RoutedEvent; key: string; older: string[] }[],
): Promise<Set<string>> {
  const seen = await claimedEarlier(tx, keyed);
  const rows = [
    ...new Map(
      keyed
        .filter(({ r, key }) => !seen.has(`${r.tenant.id}\u0000${key}`))
        .map(({ r, key }) => [
          `${r.tenant.id}\u0000${key}`,
          { tenant_id: r.tenant.id, event_key: key, kind: r.event.kind },
        ]),
    ),
  ]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
  const fresh = new Set<string>();
  for (let i = 0; i < rows.length; i += CLAIM_CHUNK) {
    const claimed = await tx
      .insertInto('processed_events')
      .values(rows.slice(i, i + CLAIM_CHUNK))
      .onConflict((oc) => oc.columns(['tenant_id', 'event_key']).doNothing())
      .returning(['tenant_id', 'event_key'])
      .execute();
    for (const c of claimed) fresh.add(`${c.tenant_id}\u0000${c.event_key}`);
  }
  return fresh;
}

/** The `tenant\0key` pairs whose event was claimed under another held version of the event-id key. */
async function claimedEarlier(
  tx: Executor,
  keyed: readonly { r: RoutedEvent; key: string; older: string[] }[],
): Promise<Set<string>> {
  const byOlder = new Map<string, string>();
  for (const { r, key, older } of keyed)
    for (const o of older) byOlder.set(`${r.tenant.id}\u0000${o}`, `${r.tenant.id}\u0000${key}`);
  const seen = new Set<string>();
  const olderKeys = [...new Set(keyed.flatMap((k) => k.older))];
  for (let i = 0; i < olderKeys.length; i += CLAIM_CHUNK) {
    const found = await tx
      .selectFrom('processed_events')
      .select(['tenant_id', 'event_key'])
      .where('event_key', 'in', olderKeys.slice(i, i + CLAIM_CHUNK))
      .execute();
    for (const f of found) {
      const id = byOlder.get(`${f.tenant_id}\u0000${f.event_key}`);
      if (id) seen.add(id);
    }
  }
  return seen;
}
