import type { CollectionSpec } from '../../../config/datamap.js';
import type { SweepOptions, SweepOutcome } from '../port.js';
import { classifySql } from './sql-errors.js';
import type { SqlDriver, SqlSpec } from './sql-driver.js';

/**
 * Retention for a SQL system of the data map: every collection that declares `retention: {column, days}`
 * loses (or, for masked collections, has masked) the rows whose `column` is older than `days`, in bounded
 * batches: one short statement of at most `batchSize` rows at a time, a pause in between, so the business's
 * database never sees a long lock. PostgreSQL picks a batch by ctid with FOR UPDATE SKIP LOCKED (rows another
 * transaction holds are left for the next run); MySQL/MariaDB use DELETE/UPDATE ... LIMIT.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function placeholder(db: SqlDriver): string {
  return db.dialect === 'postgres' ? '$1' : '?';
}

function batchStatement(db: SqlDriver, c: CollectionSpec, column: string, limit: number): string {
  const q = (n: string) => db.quote(n);
  const table = q(c.table);
  const stillPersonal =
    c.erase === 'delete' ? '' : ` and (${c.erase.mask.map((m) => `${q(m)} is not null`).join(' or ')})`;
  const where = `${q(column)} < ${placeholder(db)}${stillPersonal}`;
  const change =
    c.erase === 'delete'
      ? `delete from ${table}`
      : `update ${table} set ${c.erase.mask.map((m) => `${q(m)} = null`).join(', ')}`;
  if (db.dialect === 'postgres') {
    return `${change} where ctid = any(array(select ctid from ${table} where ${where} limit ${limit} for update skip locked))`;
  }
  return `${change} where ${where} limit ${limit}`;
}

function countStatement(db: SqlDriver, c: CollectionSpec, column: string): string {
  const q = (n: string) => db.quote(n);
  const stillPersonal =
    c.erase === 'delete' ? '' : ` and (${c.erase.mask.map((m) => `${q(m)} is not null`).join(' or ')})`;
  return `select count(*) as n from ${q(c.table)} where ${q(column)} < ${placeholder(db)}${stillPersonal}`;
}

export async function sweepSqlExpired(
  spec: SqlSpec,
  db: SqlDriver,
  whereOf: (c: CollectionSpec) => string,
  opts: SweepOptions,
): Promise<SweepOutcome[]> {
  const out: SweepOutcome[] = [];
  const limit = Math.max(1, Math.floor(opts.batchSize));
  for (const c of spec.collections) {
    if (!c.retention) continue;
    const where = whereOf(c);
    const action = c.erase === 'delete' ? 'deleted' : 'masked';
    const cutoff = new Date(opts.now.getTime() - c.retention.days * 86_400_000);
    try {
      const counted = await db.query(countStatement(db, c, c.retention.column), [cutoff]);
      const expired = Number(counted.rows[0]?.n ?? 0);
      const outcome: SweepOutcome = { where, action, expired, swept: 0 };
      out.push(outcome);
      if (opts.dryRun || expired === 0) continue;
      const statement = batchStatement(db, c, c.retention.column, limit);
      for (;;) {
        if (opts.shouldStop?.()) break;
        const r = await db.query(statement, [cutoff]);
        outcome.swept += r.rowCount;
        opts.onBatch?.(where, r.rowCount);
        if (r.rowCount < limit) break;
        await sleep(opts.pauseMs);
      }
    } catch (err) {
      throw classifySql(err, where);
    }
  }
  return out;
}
