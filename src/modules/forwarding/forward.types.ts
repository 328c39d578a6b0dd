import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import type { Tenant } from '../tenants/index.js';

/** One verified webhook event, in Meta's own change shape, to be passed through to the tenant's downstream URLs. */
export interface ForwardEvent {
  wabaId: string;
  field: string;
  /** The change value reduced to this one event: {messaging_product, metadata, contacts?, messages|statuses|...}. */
  value: Record<string, unknown>;
}

export interface EnqueueForwardInput {
  tenant: Tenant;
  /** The person the event is about; pending deliveries are erased with them. */
  subjectId: string | null;
  /**
   * Events of one conversation are delivered in the order they were enqueued (committed). Stored and queued in
   * plaintext, so never a phone number or BSUID: use the subject id (or a keyed hash).
   */
  conversationKey: string;
  event: ForwardEvent;
}

export interface Forwarder {
  /** Inside the ingest transaction: store the event (encrypted) for each downstream URL and enqueue its delivery. */
  enqueue(tx: Kysely<DB>, input: EnqueueForwardInput): Promise<void>;
}
