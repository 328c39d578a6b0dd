import type { IdentityFormat, SystemSpec } from '../../config/datamap.js';

/**
 * One port for every system of the data map. A connector finds a person by their identifiers in the formats
 * the system stores (E.164, bare digits, business-scoped user id) and can:
 * - locate: count what it holds about them (dry run; `datamap check` uses a probe identity);
 * - export: return it (access requests);
 * - erase: delete or irreversibly mask it, except what the data map marks as retained under a legal obligation;
 * - verify: read back after erasing — a task completes only when nothing erasable is left.
 * Erasing twice is harmless (idempotent). Connectors throw RetryableError or PermanentError; only the job
 * runner decides whether to retry or dead-letter.
 */

export interface SubjectIdentifiers {
  /** +E.164 phone numbers (usually one). */
  e164: string[];
  /** The same numbers as bare digits (WhatsApp's wa_id form). */
  digits: string[];
  /** Business-scoped user ids, current and previous. */
  bsuid: string[];
}

export function valuesFor(ids: SubjectIdentifiers, format: IdentityFormat): string[] {
  return ids[format];
}

export interface Located {
  /** Where (collection, key pattern, prefix…) and how many items; names only, never values. */
  where: string;
  count: number;
  retained?: string | undefined;
}

export interface ExportedRecords {
  where: string;
  category: string;
  records: Record<string, unknown>[];
}

export interface EraseOutcome {
  where: string;
  action: 'deleted' | 'masked' | 'retained' | 'reported' | 'pending';
  count: number;
  /**
   * For `retained`: the legal reason from the data map. For `reported`: why it could not be erased.
   * For `pending`: the system accepted the erasure and confirms it later (http callback).
   */
  reason?: string | undefined;
}

export interface CheckReport {
  reachable: boolean;
  warnings: string[];
  located?: Located[] | undefined;
}

/** Retention of a system's own rows (data-map collections that declare `retention: {column, days}`). */
export interface SweepOptions {
  now: Date;
  /** Rows per statement: each batch is one short statement. */
  batchSize: number;
  /** Pause between batches. */
  pauseMs: number;
  /** Count only. */
  dryRun: boolean;
  /** Checked between batches: the sweep's time budget ran out. */
  shouldStop?: () => boolean;
  onBatch?: (where: string, rows: number) => void;
}

export interface SweepOutcome {
  /** The collection's place name (never values). */
  where: string;
  action: 'deleted' | 'masked';
  /** Rows past their retention when the sweep began. */
  expired: number;
  swept: number;
}

export interface Connector {
  readonly id: string;
  readonly type: SystemSpec['type'];
  locate(ids: SubjectIdentifiers): Promise<Located[]>;
  export(ids: SubjectIdentifiers): Promise<ExportedRecords[]>;
  erase(ids: SubjectIdentifiers, ctx: { requestId: string }): Promise<EraseOutcome[]>;
  /** What erasable data is still there (must be 0 after erase). */
  verify(ids: SubjectIdentifiers): Promise<Located[]>;
  /**
   * Reachability and configuration warnings (e.g. identity columns without an index); with a probe identity,
   * also what the system holds for it (`located`).
   */
  check(probe?: SubjectIdentifiers): Promise<CheckReport>;
  /**
   * Optional (SQL systems): delete or mask, in bounded batches, the rows of every collection whose
   * `retention.column` is older than `retention.days`. Redis keys carry TTLs and object stores use lifecycle
   * rules instead (see the README's "Retention").
   */
  sweepExpired?(opts: SweepOptions): Promise<SweepOutcome[]>;
  close(): Promise<void>;
}

export type ConnectorFactory<S extends SystemSpec = SystemSpec> = (spec: S, deps: ConnectorDeps) => Connector;

export interface ConnectorDeps {
  /** Other connectors of the data map (object stores read object keys from SQL systems). */
  lookup(systemId: string): Connector | undefined;
  /** Rows' values of one column for a person, from a SQL system (object keys found in SQL columns). */
  sqlColumnValues?(
    systemId: string,
    table: string,
    identity: { column: string; format: IdentityFormat },
    column: string,
    ids: SubjectIdentifiers,
  ): Promise<string[]>;
  /** For the http connector: the URL receivers call back on to confirm later. */
  callbackUrl?(requestId: string, systemId: string): string | undefined;
}
