import type { Insertable } from 'kysely';
import type { Identity } from '../../lib/phone.js';
import type { MessagesTable } from '../../lib/db/schema.js';
import type { ResolvedSubject } from '../subjects/index.js';
import { identitiesOf, type Executor, type IngestDeps } from './ingest-deps.js';
import type { ContactEvent, MessageEvent, WebhookEvent } from './parse-webhook.js';

/**
 * What the deliveries written in one transaction share (see group-commit.ts): senders resolved up front for all
 * of them in a fixed number of statements, and plain messages written in one insert. Every event is still
 * handled one after the other, in delivery order, and sees what the events before it wrote: the senders
 * resolved up front are exactly those whose result no other event of the batch can change, and pending
 * messages are written before any event that is not a plain message.
 */
export class IngestBatch {
  private readonly senders = new Map<string, { subject: ResolvedSubject; taken: boolean }>();
  private pending: Insertable<MessagesTable>[] = [];

  /**
   * Resolve, in one `resolveMany` per tenant, the senders of the `candidates` (handled plain messages) that
   * share no identity with anyone else in the batch (`others`: the parties of every other handled event).
   * Messages of one person with the same identities share one entry.
   */
  async presolve(
    deps: Pick<IngestDeps, 'subjects'>,
    tx: Executor,
    candidates: readonly { tenantId: string; event: MessageEvent; contact: ContactEvent | undefined }[],
    others: readonly { tenantId: string; identities: Identity[] }[],
  ): Promise<void> {
    const sets = new Map<string, { tenantId: string; identities: Identity[]; profileName?: string }>();
    const holders = new Map<string, Set<string>>();
    const hold = (tenantId: string, identities: Identity[], set: string) => {
      for (const i of identities) {
        const k = identityKey(tenantId, i);
        holders.set(k, (holders.get(k) ?? new Set()).add(set));
      }
    };
    for (const c of candidates) {
      const identities = identitiesOf(c.event.from, c.contact);
      if (identities.length === 0) continue;
      const set = senderKey(c.tenantId, identities);
      if (!sets.has(set))
        sets.set(set, { tenantId: c.tenantId, identities, profileName: c.contact?.profileName });
      hold(c.tenantId, identities, set);
    }
    others.forEach((o, n) => hold(o.tenantId, o.identities, `other:${n}`));
    const byTenant = new Map<string, { set: string; identities: Identity[]; profileName?: string }[]>();
    for (const [set, s] of sets) {
      if (!s.identities.every((i) => holders.get(identityKey(s.tenantId, i))!.size === 1)) continue;
      byTenant.set(s.tenantId, [...(byTenant.get(s.tenantId) ?? []), { set, ...s }]);
    }
    for (const [tenantId, people] of byTenant) {
      const resolved = await deps.subjects.resolveMany(tx, tenantId, people);
      people.forEach((p, n) => this.senders.set(p.set, { subject: resolved[n]!, taken: false }));
    }
  }

  /**
   * The sender resolved up front for these identities: as resolved for its first event, and as found (no longer
   * `created`) for the events after it, like a second findOrCreate would see it.
   */
  take(tenantId: string, identities: Identity[]): ResolvedSubject | undefined {
    const entry = this.senders.get(senderKey(tenantId, identities));
    if (!entry) return undefined;
    const subject = entry.taken ? { ...entry.subject, created: false } : entry.subject;
    entry.taken = true;
    return subject;
  }

  /**
   * Forget the senders resolved up front: an event that may have erased someone (a Flow completion, a button
   * reply confirming a request) was just handled, and a subject resolved before it may be gone. Later messages
   * resolve their sender again, as one after the other would.
   */
  forgetSenders(): void {
    this.senders.clear();
  }

  /** The profile name an event of this sender has just stored, for the events after it. */
  storedProfileName(tenantId: string, identities: Identity[], stored: string | null): void {
    const entry = this.senders.get(senderKey(tenantId, identities));
    if (entry) entry.subject = { ...entry.subject, storedProfileName: stored };
  }

  /** A plain message's row, written by the next `flush`. */
  defer(row: Insertable<MessagesTable>): void {
    this.pending.push(row);
  }

  /** Write the pending messages (one statement). */
  async flush(tx: Executor): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    await tx.insertInto('messages').values(rows).execute();
  }
}

/** A message whose handling writes its own row and nothing that reads it: its row may wait for `flush`. */
export function isPlainMessage(event: WebhookEvent): event is MessageEvent {
  return (
    event.kind === 'message' && !event.media && !event.flowReply && !event.isStopKeyword && !event.replyId
  );
}

/** Every identity an event names (the people whose subject handling it may find, create or change). */
export function partiesOf(event: WebhookEvent, contact: ContactEvent | undefined): Identity[] {
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

function identityKey(tenantId: string, i: Identity): string {
  return `${tenantId}\u0000${i.kind}\u0000${i.value}`;
}

function senderKey(tenantId: string, identities: Identity[]): string {
  return identities
    .map((i) => identityKey(tenantId, i))
    .sort()
    .join('\u0001');
}
