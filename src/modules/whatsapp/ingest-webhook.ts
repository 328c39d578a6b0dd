import type { AppContext } from '../../app/context.js';
import { createGroupCommit } from '../../lib/group-commit.js';
import type { Identity } from '../../lib/phone.js';
import type { Tenant } from '../tenants/index.js';
import { applyPreference } from './apply-preference.js';
import { applyStandaloneContact, resolveSender } from './ingest-contact.js';
import { identitiesOf, type Executor, type IngestDeps, type Outcome } from './ingest-deps.js';
import { forwardEventOf } from './ingest-forward.js';
import { IngestBatch, isPlainMessage } from './ingest-batch.js';
import { ingestMessage } from './ingest-message.js';
import { routeEvents, type RoutedEvent } from './ingest-routing.js';
import { ingestStatus } from './ingest-status.js';
import { linkUserId } from './link-user-id.js';
import {
  eventKey,
  type ContactEvent,
  type ParsedWebhook,
  type PartyIds,
  type WebhookEvent,
} from './parse-webhook.js';

export type IngestReport = Record<Outcome, number>;

export type WebhookIngestDeps = IngestDeps & Pick<AppContext, 'tenants'>;

/** The hashed de-duplication key of one event: wamids embed phone numbers, so the raw key is never stored. */
export function storedEventKey(deps: Pick<IngestDeps, 'keyring'>, tenantId: string, rawKey: string): string {
  return deps.keyring.hmac('event-id', `${tenantId}\u0000${rawKey}`);
}

/** The key under the other held event-id versions (a delivery seen before a new version started). */
function olderEventKeys(deps: Pick<IngestDeps, 'keyring'>, tenantId: string, rawKey: string, key: string) {
  return deps.keyring.hmacAll('event-id', `${tenantId}\u0000${rawKey}`).filter((k) => k !== key);
}

/**
 * Ingests one verified delivery in ONE transaction: a failure rolls everything back and the caller answers 500,
 * so Meta delivers again. Idempotent: every keyed event is claimed in processed_events first, and a delivery seen
 * before changes nothing (contacts are applied only together with a new event of the same person).
 */
export function createWebhookIngest(deps: WebhookIngestDeps) {
  async function handle(
    tx: Executor,
    r: RoutedEvent,
    key: string,
    contact: ContactEvent | undefined,
    notes: Written,
    batch: IngestBatch,
  ): Promise<Outcome> {
    const { tenant, event } = r;
    // Everything but a plain message may read what the events before it wrote.
    if (!isPlainMessage(event)) await batch.flush(tx);
    switch (event.kind) {
      case 'message': {
        if (event.flowReply && (await deps.privacy.isErasureEcho(tx, { tenant, event }))) return 'ignored';
        const { subjectId, restricted } = await ingestMessage(
          deps,
          tx,
          { tenant, event, eventKey: key, contact },
          batch,
        );
        await deps.privacy.onMessage(tx, { tenant, subjectId, event });
        // A request it made or confirmed may have erased a person whose sender was resolved up front.
        if (event.flowReply || event.replyId) batch.forgetSenders();
        const fwd = forwardEventOf(event, contact);
        // A restricted person's events are not passed on either (GDPR Art. 18).
        if (fwd && !restricted && tenant.settings.forward.length > 0) {
          await deps.forwarder.enqueue(tx, { tenant, subjectId, conversationKey: subjectId, event: fwd });
        }
        return 'ingested';
      }
      case 'status': {
        const { subjectId } = await ingestStatus(deps, tx, { tenant, event, eventKey: key });
        const fwd = forwardEventOf(event, undefined);
        if (fwd && tenant.settings.forward.length > 0) {
          await deps.forwarder.enqueue(tx, {
            tenant,
            subjectId: subjectId ?? null,
            conversationKey: subjectId ?? 'none',
            event: fwd,
          });
        }
        return 'ingested';
      }
      case 'user_preference': {
        if (event.category !== 'marketing_messages') return 'ignored';
        const identities = identitiesOf(event, contact);
        const subjectId = contact
          ? (await resolveSender(deps, tx, tenant.id, identities, contact.profileName)).id
          : await deps.subjects.find(tx, tenant.id, identities);
        await applyPreference(deps, tx, {
          tenantId: tenant.id,
          subjectId,
          identities,
          value: event.value,
          reason: 'user_preferences',
        });
        await deps.privacy.onPreference(tx, { tenant, subjectId, identities, value: event.value });
        return 'ingested';
      }
      case 'user_id_update': {
        const { conflict } = await linkUserId(deps, tx, tenant.id, event);
        if (conflict) notes.linkConflicts += 1;
        return 'ingested';
      }
      case 'contact':
      case 'unsupported':
        return 'ignored';
    }
  }

  /**
   * Writes the routed events of several deliveries in ONE transaction (group commit): one claim of every
   * event, the senders of plain messages resolved together, plain messages inserted together; every event is
   * handled in delivery order. Returns each delivery's outcomes.
   */
  async function write(deliveries: RoutedEvent[][]): Promise<Written[]> {
    const written = await deps.database.db.transaction().execute(async (tx) => {
      const batch = new IngestBatch();
      const units = deliveries.map((routed) => ({
        routed,
        contacts: new ContactBook(routed),
        written: { tally: new Tally(), linkConflicts: 0 } as Written,
      }));
      const keyed = units.flatMap((u) =>
        u.routed.flatMap((r) => {
          const raw = r.event.kind === 'contact' ? undefined : eventKey(r.event);
          if (raw === undefined) {
            if (r.event.kind !== 'contact') u.written.tally.add(r.event.kind, 'ignored');
            return [];
          }
          const key = storedEventKey(deps, r.tenant.id, raw);
          return [{ u, r, key, older: olderEventKeys(deps, r.tenant.id, raw, key) }];
        }),
      );
      const claimed = await claim(tx, keyed);
      // `delete`: the same event twice in the batch (in one delivery or two) is handled once, the first time.
      const plan = keyed.map((k) => ({
        ...k,
        fresh: claimed.delete(`${k.r.tenant.id}\u0000${k.key}`),
        contact: k.u.contacts.match(k.r),
      }));
      const handled = plan.filter((p) => p.fresh);
      await batch.presolve(
        deps,
        tx,
        handled.flatMap((p) =>
          isPlainMessage(p.r.event)
            ? [{ tenantId: p.r.tenant.id, event: p.r.event, contact: p.contact?.event }]
            : [],
        ),
        [
          ...handled
            .filter((p) => !isPlainMessage(p.r.event))
            .map((p) => ({ tenantId: p.r.tenant.id, identities: partiesOf(p.r.event, p.contact?.event) })),
          // A contact in a change with keyed events is applied with them or not at all; the others may be alone.
          ...units.flatMap((u) =>
            u.contacts.entries
              .filter((c) => !u.contacts.changeHasKeyedEvents(c))
              .map((c) => ({ tenantId: c.tenant.id, identities: identitiesOf(c.event) })),
          ),
        ],
      );
      for (const u of units) {
        const { tally } = u.written;
        for (const { r, key, fresh, contact } of plan.filter((p) => p.u === u)) {
          if (!fresh) {
            tally.add(r.event.kind, 'duplicate');
            contact?.outcomes.add('duplicate');
            continue;
          }
          contact?.outcomes.add('ingested');
          tally.add(r.event.kind, await handle(tx, r, key, contact?.event, u.written, batch));
        }
        for (const c of u.contacts.entries) {
          if (c.outcomes.has('ingested')) tally.add('contact', 'ingested');
          else if (c.outcomes.has('duplicate')) tally.add('contact', 'duplicate');
          else if (u.contacts.changeHasKeyedEvents(c)) tally.add('contact', 'ignored');
          else {
            await batch.flush(tx);
            const applied = await applyStandaloneContact(
              deps,
              tx,
              c.tenant.id,
              identitiesOf(c.event),
              c.event.profileName,
            );
            tally.add('contact', applied ? 'ingested' : 'ignored');
          }
        }
      }
      await batch.flush(tx);
      return units.map((u) => u.written);
    });
    deps.metrics.webhookBatchDeliveries.observe(deliveries.length);
    return written;
  }

  const commits = createGroupCommit<RoutedEvent[], Written>({
    run: write,
    maxInFlight: GROUP_COMMIT_IN_FLIGHT,
    maxWeight: GROUP_COMMIT_EVENTS,
    weight: (routed) => routed.length,
    onSplit: (err, deliveries) => {
      deps.metrics.webhookBatchSplits.inc();
      deps.logger.warn({ deliveries, err }, 'webhook batch failed; writing its deliveries one at a time');
    },
  });

  return {
    /**
     * `signers`: the tenants whose app secret produced the request's valid signature. Resolves once the
     * delivery's events are committed (with those of deliveries arriving meanwhile: see `write`).
     */
    async ingest(signers: readonly Tenant[], parsed: ParsedWebhook): Promise<IngestReport> {
      const tally = new Tally();
      const notes: Notes = { unknownTenant: 0, invalid: 0, linkConflicts: 0 };
      for (const r of parsed.rejected) {
        const omitted = /^(\d+) further rejections omitted$/.exec(r.reason);
        const n = omitted ? Number(omitted[1]) : 1;
        tally.add('invalid', 'rejected', n);
        notes.invalid += n;
      }
      const relevant = parsed.events.filter((e) => {
        if (e.kind !== 'unsupported') return true;
        tally.add(e.kind, 'ignored');
        return false;
      });
      const { routed, unrouted } = await routeEvents(deps.tenants, signers, relevant);
      for (const e of unrouted) tally.add(e.kind, 'rejected');
      notes.unknownTenant = unrouted.length;

      if (routed.length > 0) {
        const written = await commits.submit(routed);
        tally.merge(written.tally);
        notes.linkConflicts = written.linkConflicts;
      }

      tally.apply(deps.metrics);
      const report = tally.report();
      const line = {
        events: report,
        rejectedBecause: { unknownTenant: notes.unknownTenant, invalid: notes.invalid },
      };
      if (report.rejected > 0) deps.logger.warn(line, 'webhook delivery had rejected events');
      else deps.logger.debug(line, 'webhook delivery processed');
      if (notes.linkConflicts > 0) {
        deps.logger.warn(
          { count: notes.linkConflicts },
          'user id update: new id already belongs to another subject',
        );
      }
      return report;
    },
  };
}

/** Batches written at once: each holds a connection; two let one batch be built while the other commits. */
const GROUP_COMMIT_IN_FLIGHT = 2;
/** Events per batch at most (a delivery larger than this is written alone). */
const GROUP_COMMIT_EVENTS = 1000;

/** What writing one delivery's events produced, counted anew on each attempt (a failed batch is re-run). */
interface Written {
  tally: Tally;
  linkConflicts: number;
}

export type WebhookIngest = ReturnType<typeof createWebhookIngest>;

const CLAIM_CHUNK = 5000;

/**
 * Claims events in processed_events; returns the `tenant\0key` pairs that were new. Rows go in sorted order so
 * concurrent deliveries of overlapping events lock them in the same order (no deadlock), a chunk per statement.
 * An event already claimed under an older event-id key version is not new either.
 */
async function claim(
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

interface Notes {
  unknownTenant: number;
  invalid: number;
  linkConflicts: number;
}

class Tally {
  private readonly counts = new Map<string, { type: string; outcome: Outcome; n: number }>();

  add(type: string, outcome: Outcome, n = 1): void {
    const k = `${type}\u0000${outcome}`;
    const entry = this.counts.get(k) ?? { type, outcome, n: 0 };
    entry.n += n;
    this.counts.set(k, entry);
  }

  merge(other: Tally): void {
    for (const { type, outcome, n } of other.counts.values()) this.add(type, outcome, n);
  }

  apply(metrics: IngestDeps['metrics']): void {
    for (const { type, outcome, n } of this.counts.values()) metrics.webhookEvents.inc({ type, outcome }, n);
  }

  report(): IngestReport {
    const r: IngestReport = { ingested: 0, duplicate: 0, rejected: 0, ignored: 0 };
    for (const { outcome, n } of this.counts.values()) r[outcome] += n;
    return r;
  }
}

interface ContactEntry {
  tenant: Tenant;
  event: ContactEvent;
  change: string;
  outcomes: Set<Outcome>;
}

/** The contacts of a delivery, matched to the events of the same person in the same change. */
class ContactBook {
  readonly entries: ContactEntry[] = [];
  private readonly keyed = new Set<string>();

  constructor(routed: readonly RoutedEvent[]) {
    for (const { tenant, event } of routed) {
      const change = changeOf(event);
      if (event.kind === 'contact') this.entries.push({ tenant, event, change, outcomes: new Set() });
      else if (eventKey(event) !== undefined) this.keyed.add(`${tenant.id}\u0000${change}`);
    }
  }

  match(r: RoutedEvent): ContactEntry | undefined {
    const who = partyOf(r.event);
    if (!who) return undefined;
    const change = changeOf(r.event);
    return this.entries.find(
      (c) =>
        c.tenant.id === r.tenant.id &&
        c.change === change &&
        ((who.phone !== undefined && c.event.phone === who.phone) ||
          (who.bsuid !== undefined && c.event.bsuid === who.bsuid)) &&
        !(who.phone !== undefined && c.event.phone !== undefined && c.event.phone !== who.phone) &&
        !(who.bsuid !== undefined && c.event.bsuid !== undefined && c.event.bsuid !== who.bsuid),
    );
  }

  changeHasKeyedEvents(c: ContactEntry): boolean {
    return this.keyed.has(`${c.tenant.id}\u0000${c.change}`);
  }
}

function changeOf(event: WebhookEvent): string {
  return event.source?.change ?? '';
}

/** Every identity an event names (the people whose subject handling it may find, create or change). */
function partiesOf(event: WebhookEvent, contact: ContactEvent | undefined): Identity[] {
  switch (event.kind) {
    case 'message':
      return identitiesOf(event.from, contact);
    case 'status':
      return identitiesOf(event.recipient);
    case 'user_preference':
      return identitiesOf({ phone: event.phone, bsuid: event.bsuid }, contact);
    case 'user_id_update':
      return identitiesOf({ phone: event.phone, bsuid: event.previousBsuid }, { bsuid: event.currentBsuid });
    case 'contact':
      return identitiesOf(event);
    case 'unsupported':
      return [];
  }
}

/** The person an event comes from (contacts are matched to messages and preferences only). */
function partyOf(event: WebhookEvent): PartyIds | undefined {
  if (event.kind === 'message') return event.from;
  if (event.kind === 'user_preference') return { phone: event.phone, bsuid: event.bsuid };
  return undefined;
}
