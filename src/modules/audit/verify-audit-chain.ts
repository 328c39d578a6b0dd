import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';
import { firstSeqAfter, readArchiveAnchor, readBatch, readHead, readRowBefore } from './audit.repo.js';
import { GENESIS_HASH, chainHash } from './chain-hash.js';

export type AuditChainFault = 'hash_mismatch' | 'broken_link' | 'gap';

export type AuditChainReport =
  { ok: true; rows: number } | { ok: false; firstBadSeq: number; reason: AuditChainFault };

export interface VerifyOptions {
  /** Start at this seq, trusting the row before it as the anchor (a full check starts at the genesis). */
  fromSeq?: number | undefined;
  /** Rows per query (keyset pagination on seq); memory stays flat on millions of rows. */
  batchSize?: number | undefined;
}

/**
 * Walk the chain in seq order and check, for each row, that its prev_hash is the previous row's hash (a
 * deleted, inserted or re-chained row breaks this: `gap` when seq also jumps, `broken_link` otherwise; seq
 * alone proves nothing, since a rolled-back append skips a number) and that its hash matches its content
 * (`hash_mismatch`). Then compare the tail with the audit_head checkpoint: a log that ends before the
 * checkpoint lost its tail (`gap` at the checkpoint's seq), rows after it were written without it
 * (`broken_link` at the first), and a tail row whose hash differs from the checkpoint was rewritten
 * (`hash_mismatch`). Runs without a transaction: appends committed meanwhile are read and checked too.
 * A chain whose oldest rows were archived by retention starts from the latest archive checkpoint (the seq and
 * hash of the last deleted row); a prefix archived while the walk is under way is followed the same way.
 */
export async function verifyAuditChain(db: Kysely<DB>, opts: VerifyOptions = {}): Promise<AuditChainReport> {
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  let cursor = 0;
  let expectedPrev = GENESIS_HASH;
  const archived = await readArchiveAnchor(db);
  if (archived && (opts.fromSeq === undefined || opts.fromSeq <= archived.seq + 1)) {
    cursor = archived.seq;
    expectedPrev = archived.hash;
  } else if (opts.fromSeq !== undefined && opts.fromSeq > 1) {
    const anchor = await readRowBefore(db, opts.fromSeq);
    if (anchor) {
      cursor = anchor.seq;
      expectedPrev = anchor.hash;
    }
  }
  let rows = 0;

  const scan = async (): Promise<AuditChainReport | undefined> => {
    for (;;) {
      const batch = await readBatch(db, cursor, batchSize);
      for (const row of batch) {
        if (row.prev_hash !== expectedPrev) {
          // Rows ahead of the walk archived meanwhile: the newer checkpoint is the link.
          const anchor = await readArchiveAnchor(db);
          if (anchor && anchor.seq > cursor && anchor.seq < row.seq && anchor.hash === row.prev_hash) {
            expectedPrev = anchor.hash;
            cursor = anchor.seq;
          }
        }
        if (row.prev_hash !== expectedPrev) {
          return { ok: false, firstBadSeq: row.seq, reason: row.seq > cursor + 1 ? 'gap' : 'broken_link' };
        }
        if (chainHash(row.prev_hash, row) !== row.hash) {
          return { ok: false, firstBadSeq: row.seq, reason: 'hash_mismatch' };
        }
        expectedPrev = row.hash;
        cursor = row.seq;
        rows++;
      }
      if (batch.length < batchSize) return undefined;
    }
  };

  // The checkpoint seen ahead of the scanned tail: its row was committed before the next scan began.
  let awaited: number | undefined;
  for (;;) {
    const bad = await scan();
    if (bad) return bad;
    if (awaited !== undefined && cursor < awaited) return { ok: false, firstBadSeq: awaited, reason: 'gap' };
    const head = await readHead(db);
    const headSeq = head?.seq ?? 0;
    if (headSeq === cursor) {
      return (head?.hash ?? GENESIS_HASH) === expectedPrev
        ? { ok: true, rows }
        : { ok: false, firstBadSeq: cursor, reason: 'hash_mismatch' };
    }
    if (headSeq < cursor) {
      return { ok: false, firstBadSeq: (await firstSeqAfter(db, headSeq)) ?? cursor, reason: 'broken_link' };
    }
    // Ahead: appends committed since the scan (read on), or the tail is gone (the next scan cannot reach it).
    awaited = headSeq;
  }
}
