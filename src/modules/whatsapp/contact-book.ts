import type { Tenant } from '../tenants/index.js';
import type { Outcome } from './ingest-deps.js';
import type { RoutedEvent } from './ingest-routing.js';
import { eventKey, type ContactEvent, type PartyIds, type WebhookEvent } from './parse-webhook.js';

export interface ContactEntry {
  tenant: Tenant;
  event: ContactEvent;
  change: string;
  outcomes: Set<Outcome>;
}

/** The contacts of a delivery, matched to the events of the same person in the same change. */
export class ContactBook {
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

/** The person an event comes from (contacts are matched to messages and preferences only). */
function partyOf(event: WebhookEvent): PartyIds | undefined {
  if (event.kind === 'message') return event.from;
  if (event.kind === 'user_preference') return { phone: event.phone, bsuid: event.bsuid };
  return undefined;
}
