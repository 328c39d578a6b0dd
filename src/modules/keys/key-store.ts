import type { SealedPurposeKey } from '../../lib/crypto/index.js';

/**
 * The key store: where wrapped subject data keys, the wrapped purpose keys and the erasure journal live, apart
 * from the database and its backups (ADR 0003). A restored database backup must not bring an erased person's
 * key back, so the store is a separate file set (embedded) or a separate PostgreSQL database.
 *
 * Keys are found by `ref`, the keyed HMAC (`subject-ref` key) of the subject id, so the store holds no subject
 * ids; the wrapped key's AAD is the ref too. `delete` removes keys and appends their erasure journal entries in
 * one atomic step; the journal (ref, tenant, time) outlives the keys so that `restore-replay` can erase again
 * whoever a restored backup brings back.
 */

export interface StoredKey {
  ref: string;
  tenantId: string;
  wrapped: string;
  masterVersion: string;
}

export interface JournalEntry {
  ref: string;
  tenantId: string;
  erasedAt: Date;
}

/** Progress of a master-key rotation, saved after every batch so a new run resumes. */
export interface RotationState {
  targetVersion: string;
  /** The last ref re-wrapped (keys are visited in ref order). */
  cursor: string | null;
  rewrapped: number;
  batches: number;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface Rewrap {
  ref: string;
  /** The wrapped value read: replaced only if it is still the same (a concurrent delete wins). */
  from: string;
  wrapped: string;
  masterVersion: string;
}

export interface KeyStore {
  readonly kind: 'file' | 'postgres';
  /** False when the store shares the database it protects (PostgreSQL without FLOWGUARD_KEYSTORE_URL). */
  readonly separate: boolean;
  /** Where it is, for messages: a directory, or a database name (never credentials). */
  readonly location: string;
  put(key: StoredKey): Promise<void>;
  /** Several keys in one durable write (new subjects of one ingest batch). */
  putMany(keys: StoredKey[]): Promise<void>;
  /** The key of a ref; undefined when there is none (never created, or deleted). */
  get(ref: string): Promise<StoredKey | undefined>;
  /** Delete keys and append their journal entries, atomically; idempotent. Returns keys actually deleted. */
  delete(entries: JournalEntry[]): Promise<number>;
  listByTenant(tenantId: string, after: string | null, limit: number): Promise<StoredKey[]>;
  /** Keys not wrapped under `masterVersion`, in ref order after `after`. */
  listNotAt(masterVersion: string, after: string | null, limit: number): Promise<StoredKey[]>;
  countNotAt(masterVersion: string): Promise<number>;
  count(): Promise<number>;
  /** Compare-and-set re-wrap; returns how many were replaced. */
  rewrap(updates: Rewrap[]): Promise<number>;
  /** Which of these refs have a key. */
  present(refs: string[]): Promise<Set<string>>;
  /** Which of these refs have an erasure journal entry. */
  journaled(refs: string[]): Promise<Set<string>>;
  journalSize(): Promise<number>;
  /** Journal entries of erasures before `before`: past the retention of every database backup. */
  countJournalBefore(before: Date): Promise<number>;
  /** Remove at most `limit` of them, oldest first (a file store rewrites its journal once, taking them all). */
  purgeJournal(before: Date, limit: number): Promise<number>;
  getMaterial(): Promise<SealedPurposeKey[]>;
  /** `if-absent`: add versions not yet stored (first start); `replace`: overwrite (re-wrap on rotation). */
  putMaterial(records: SealedPurposeKey[], mode: 'if-absent' | 'replace'): Promise<void>;
  /** Destroy one purpose key version (a retired HMAC version); true when it was there. */
  deleteMaterial(purpose: SealedPurposeKey['purpose'], version: string): Promise<boolean>;
  getRotation(): Promise<RotationState | undefined>;
  setRotation(state: RotationState): Promise<void>;
  close(): Promise<void>;
}
