/**
 * The public vocabulary of a privacy request (public API, admin API, CLI, proof report): its types and
 * statuses, and its shapes, which hold ids, enums, times and counts only, never the person's data. No imports:
 * the dashboard (web/) checks its types against these same declarations and bundles the two lists for its
 * filters, and nothing else of the server reaches it.
 */

export const REQUEST_TYPES = ['erasure', 'access', 'rectification', 'opt_out', 'restriction'] as const;

export const REQUEST_STATUSES = [
  'received',
  'awaiting_verification',
  'verified',
  'executing',
  'completed',
  'failed',
  'denied',
] as const;

/** Where a request stands: what both a queue row and the full view show. */
interface RequestState {
  id: string;
  reference: string;
  type: string;
  scope: string;
  channel: string;
  status: string;
  received_at: string;
  due_at: string;
  /** Still open and past its due date. */
  overdue: boolean;
  /** The due date was moved (an extension). */
  extended: boolean;
  completed_at: string | null;
}

/** A row of the request queue. */
export interface RequestSummary extends RequestState {
  tenant: string;
}

/** What a request asked of one system (own store or a data-map system) and how far it got. */
interface RequestSystem {
  id: string;
  action: string;
  status: string;
  attempts: number;
  counts: Record<string, number>;
  last_error: string | null;
  completed_at: string | null;
}

/** One request with its per-system tasks. */
export interface RequestView extends RequestState {
  regime: string;
  verification: string | null;
  verified_at: string | null;
  error_code: string | null;
  systems: RequestSystem[];
}

/** One event of a request's audit timeline. */
export interface RequestEvent {
  seq: number;
  event_type: string;
  occurred_at: string;
  actor_type: string;
  data: Record<string, unknown>;
}

export interface ProofReport {
  format: 'flowguard.proof.v1';
  generated_at: string;
  request: Omit<RequestSummary, 'overdue' | 'extended'> &
    Pick<RequestView, 'regime' | 'verification' | 'verified_at'> & {
      original_due_at: string;
      extension_reason: string | null;
      deny_reason: string | null;
      on_time: boolean | null;
    };
  systems: (Omit<RequestSystem, 'last_error'> & { started_at: string })[];
  audit: {
    events: (RequestEvent & { hash: string })[];
    /** The chain checked from this request's first event to the current head (every later row included). */
    chain: {
      verified: boolean;
      from_seq: number | null;
      rows: number;
      first_bad_seq?: number;
      reason?: string;
    };
  };
  /** Items kept on purpose, with the legal reason (none in flowguard's own store; data-map `retain` adds some). */
  retained: { system: string; category: string; reason: string }[];
  statement: string;
}
