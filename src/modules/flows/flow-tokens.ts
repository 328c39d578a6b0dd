import crypto from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { createBatchedLookup, type BatchedLookup } from '../../lib/batched-lookup.js';
import { hashToken, randomToken } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import type { Identity } from '../../lib/phone.js';
import type { SubjectResolver } from '../subjects/index.js';
import {
  summaryColumns,
  toSubjectSummary,
  type SubjectSummary,
  type SubjectSummaryColumns,
} from './subject-summary.js';

/**
 * Flow tokens: the proof of possession behind every Flow call. A token is 256 random bits (base64url) that
 * flowguard hands to exactly one subject of one tenant (inside the Flow message sent to that person); the store
 * keeps only its SHA-256, its subject, purpose and expiry. Whoever presents it in a Flow call acts as that subject.
 */

export const DEFAULT_FLOW_PURPOSE = 'privacy_center';
const PURPOSE = /^[a-z][a-z0-9_]{0,39}$/;
/** Longer than any token we issue; longer strings are not looked up at all. */
const MAX_TOKEN_LENGTH = 128;

export interface IssuedFlowToken {
  tokenId: string;
  subjectId: string;
  /** The secret: shown to the caller once, never stored. */
  token: string;
  expiresAt: Date;
}

export interface VerifiedFlowToken {
  tokenId: string;
  subjectId: string;
  purpose: string;
}

/** A verified token with what the store holds about its subject, read in the same statement. */
export interface VerifiedFlowTokenWithSummary extends VerifiedFlowToken {
  summary: SubjectSummary;
}

export type FlowTokenInvalidReason = 'unknown' | 'expired' | 'used';

interface TokenRow {
  id: string;
  subject_id: string;
  purpose: string;
  expires_at: Date | string;
  used_at: Date | string | null;
}

type SummaryRow = TokenRow & SubjectSummaryColumns & { tenant_id: string; token_hash: string };

/** The token with its subject's summary, in one statement (see verifyWithSummary). */
async function readSummaries(db: Kysely<DB>, hashes: string[]): Promise<SummaryRow[]> {
  const result = await sql<SummaryRow>`
    select t.id, t.tenant_id, t.token_hash, t.subject_id, t.purpose, t.expires_at, t.used_at,
      ${summaryColumns(sql.ref<string>('t.subject_id'))}
    from flow_tokens t
    where t.token_hash = any(${hashes}::text[])
  `.execute(db);
  return result.rows;
}

/** One batched reader per database handle: the calls of every request share it. */
const summaryReaders = new WeakMap<Kysely<DB>, BatchedLookup<string, SummaryRow>>();

function summaryReader(db: Kysely<DB>): BatchedLookup<string, SummaryRow> {
  let reader = summaryReaders.get(db);
  if (!reader) {
    reader = createBatchedLookup<string, SummaryRow>({
      id: (hash) => hash,
      maxKeys: 128,
      load: async (hashes) => new Map((await readSummaries(db, hashes)).map((r) => [r.token_hash, r])),
    });
    summaryReaders.set(db, reader);
  }
  return reader;
}

export interface FlowTokenDeps {
  db: Kysely<DB>;
  subjects: Pick<SubjectResolver, 'findOrCreate'>;
  clock: () => Date;
  /** config.flowTokenTtlSeconds */
  ttlSeconds: number;
}

export function createFlowTokens(deps: FlowTokenDeps) {
  function invalid(reason: FlowTokenInvalidReason): AppError {
    return new AppError('FLOW_TOKEN_INVALID', { reason }, 'flow token is invalid or expired');
  }

  /** The hash to look a presented token up by; strings that cannot be a token are refused unread. */
  function lookupHash(token: unknown): string {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw invalid('unknown');
    }
    return hashToken(token);
  }

  function check(row: TokenRow | undefined): VerifiedFlowToken {
    if (!row) throw invalid('unknown');
    if (row.used_at !== null) throw invalid('used');
    if (new Date(row.expires_at).getTime() <= deps.clock().getTime()) throw invalid('expired');
    return { tokenId: row.id, subjectId: row.subject_id, purpose: row.purpose };
  }

  return {
    /**
     * Issue a token bound to the subject known by `identity` (created if new). Run inside the caller's
     * transaction: the subject lookup takes advisory locks that only hold within one.
     */
    async issue(
      tx: Kysely<DB>,
      tenantId: string,
      identity: Identity,
      purpose: string = DEFAULT_FLOW_PURPOSE,
      ttlSeconds: number = deps.ttlSeconds,
    ): Promise<IssuedFlowToken> {
      if (!PURPOSE.test(purpose)) throw new AppError('VALIDATION_FAILED', { field: 'purpose' });
      if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
        throw new AppError('VALIDATION_FAILED', { field: 'ttl_seconds' }, 'ttl must be a positive integer');
      }
      const subject = await deps.subjects.findOrCreate(tx, tenantId, [identity]);
      const token = randomToken(32);
      const tokenId = crypto.randomUUID();
      const expiresAt = new Date(deps.clock().getTime() + ttlSeconds * 1000);
      await tx
        .insertInto('flow_tokens')
        .values({
          id: tokenId,
          tenant_id: tenantId,
          subject_id: subject.id,
          token_hash: hashToken(token),
          purpose,
          expires_at: expiresAt,
        })
        .execute();
      return { tokenId, subjectId: subject.id, token, expiresAt };
    },

    /** The token's subject and purpose, or FLOW_TOKEN_INVALID (unknown, another tenant's, expired or used). */
    async verify(tenantId: string, token: unknown, db: Kysely<DB> = deps.db): Promise<VerifiedFlowToken> {
      const hash = lookupHash(token);
      const row = await db
        .selectFrom('flow_tokens')
        .select(['id', 'subject_id', 'purpose', 'expires_at', 'used_at'])
        .where('token_hash', '=', hash)
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return check(row);
    },

    /**
     * `verify` and the summary of the token's subject, in one statement and one snapshot (the Flows endpoint's
     * INIT and BACK, whose screen shows it). The counts are those of the subject the token is bound to; for a
     * token that turns out used or expired they are read but never returned. (Plain scalar subqueries: a
     * lateral join that skipped them for used tokens costs PostgreSQL more to plan than they cost to run.)
     * Calls made in the same turn of the event loop share that statement (batched-lookup.ts); each gets only
     * its own token's row, and only when the token is its tenant's.
     */
    async verifyWithSummary(tenantId: string, token: unknown): Promise<VerifiedFlowTokenWithSummary> {
      const hash = lookupHash(token);
      const found = deps.db.isTransaction
        ? (await readSummaries(deps.db, [hash]))[0]
        : await summaryReader(deps.db).get(hash);
      const row = found?.tenant_id === tenantId ? found : undefined;
      return { ...check(row), summary: toSubjectSummary(row) };
    },

    /** Mark a token used (the Flow it served is complete); later verifications fail. Idempotent. */
    async consume(tx: Kysely<DB>, tokenId: string): Promise<void> {
      await tx
        .updateTable('flow_tokens')
        .set({ used_at: deps.clock() })
        .where('id', '=', tokenId)
        .where('used_at', 'is', null)
        .execute();
    },
  };
}

export type FlowTokens = ReturnType<typeof createFlowTokens>;
