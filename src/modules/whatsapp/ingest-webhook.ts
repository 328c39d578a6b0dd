import type { AppContext } from '../../app/context.js';
import { createGroupCommit } from '../../lib/group-commit.js';
import type { Tenant } from '../tenants/index.js';
import { applyPreference } from './apply-preference.js';
import { ContactBook } from './contact-book.js';
import { IngestBatch, isPlainMessage, partiesOf } from './ingest-batch.js';
import { claim, olderEventKeys, storedEventKey } from './ingest-claim.js';
import { applyStandaloneContact, resolveSender } from './ingest-contact.js';
import { identitiesOf, type Executor, type IngestDeps, type Outcome } from './ingest-deps.js';
import { forwardEventOf } from './ingest-forward.js';
import { ingestMessage } from './ingest-message.js';
import { routeEvents, type RoutedEvent } from './ingest-routing.js';
import { ingestStatus } from './ingest-status.js';
import { Tally, type IngestReport } from './ingest-tally.js';
import { linkUserId } from './link-user-id.js';
import { eventKey, type ContactEvent, type ParsedWebhook } from './parse-webhook.js';

export type { IngestReport } from './ingest-tally.js';
export { storedEventKey } from './ingest-claim.js';

export type WebhookIngestDeps = IngestDeps & Pick<AppContext, 'tenants'>;

/**
 * Ingests verified deliveries, each all or nothing: the events of deliveries arriving together are written in
 * one transaction (`write`), and a failure answers 500 for the delivery it belongs to, so Meta delivers again.
 * Idempotent: every keyed event is claimed in processed_events first, and a delivery seen before changes nothing
 * (contacts are applied only together with a new event of the same person).
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

interface Notes {
  unknownTenant: number;
  invalid: number;
  linkConflicts: number;
}
