import type { CollectionSpec, IdentityFormat } from '../../../config/datamap.js';
import type { Connector, EraseOutcome, ExportedRecords, Located, SubjectIdentifiers } from '../port.js';
import { valuesFor } from '../port.js';
import { checkSql } from './check-sql.js';
import { sweepSqlExpired } from './sweep-sql.js';
import { classifySql } from './sql-errors.js';
import type { SqlDriver, SqlExec, SqlSpec } from './sql-driver.js';
import { plainValue } from './sql-driver.js';

/** A SQL system also answers other connectors' questions: which values a column holds for a person. */
export interface SqlConnector extends Connector {
  readonly type: 'postgres' | 'mysql';
  /** Distinct non-null values of `column` in the rows of `table` whose identity column matches the person. */
  columnValues(
    table: string,
    identity: { column: string; format: IdentityFormat },
    column: string,
    ids: SubjectIdentifiers,
  ): Promise<string[]>;
}

export function isSqlConnector(c: Connector | undefined): c is SqlConnector {
  return (
    !!c &&
    (c.type === 'postgres' || c.type === 'mysql') &&
    typeof (c as SqlConnector).columnValues === 'function'
  );
}

/**
 * The shared SQL connector: per collection of the data map, rows are found by `identity.column` matching the
 * person's identifiers in that column's format; export reads `access` columns (or all); erase deletes the
 * rows or sets the `mask` columns to NULL — all collections of a system in ONE transaction, so a failure
 * leaves nothing half-erased; retained collections are counted and reported, never changed; verify counts
 * what is still erasable (for masked collections: matching rows whose mask columns are not all NULL).
 */
export function createSqlConnector(spec: SqlSpec, makeDriver: () => SqlDriver): SqlConnector {
  let driver: SqlDriver | undefined;
  const db = () => (driver ??= makeDriver());
  const q = (name: string) => db().quote(name);
  const tableCount = new Map<string, number>();
  for (const c of spec.collections) tableCount.set(c.table, (tableCount.get(c.table) ?? 0) + 1);
  /** The place's name: the table, or table(column) when the data map lists one table under several columns. */
  const whereOf = (c: CollectionSpec) =>
    (tableCount.get(c.table) ?? 0) > 1 ? `${c.table}(${c.identity.column})` : c.table;
  const retainOf = (c: CollectionSpec) => (c.retain ?? spec.retain)?.reason;
  const categoryOf = (c: CollectionSpec) =>
    c.category !== 'other' ? c.category : (spec.category ?? c.category);

  /** WHERE text and parameters matching the person in this column, or undefined when they have no such id. */
  function match(identity: { column: string; format: IdentityFormat }, ids: SubjectIdentifiers) {
    const values = [...new Set(valuesFor(ids, identity.format))];
    return values.length ? db().anyOf(q(identity.column), values) : undefined;
  }

  /** Rows still holding erasable data: for masked collections, some mask column not yet NULL. */
  function stillPersonal(c: CollectionSpec): string {
    if (c.erase === 'delete') return '';
    return ` and (${c.erase.mask.map((m) => `${q(m)} is not null`).join(' or ')})`;
  }

  async function count(x: SqlExec, c: CollectionSpec, ids: SubjectIdentifiers, extra = ''): Promise<number> {
    const m = match(c.identity, ids);
    if (!m) return 0;
    const r = await x.query(`select count(*) as n from ${q(c.table)} where ${m.sql}${extra}`, m.params);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Run one step for one place, classifying failures with the place's name. */
  async function at<T>(where: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifySql(err, where);
    }
  }

  async function eraseOne(tx: SqlExec, c: CollectionSpec, ids: SubjectIdentifiers): Promise<EraseOutcome> {
    const where = whereOf(c);
    const reason = retainOf(c);
    if (reason) return { where, action: 'retained', count: await count(tx, c, ids), reason };
    const m = match(c.identity, ids);
    const action = c.erase === 'delete' ? 'deleted' : 'masked';
    if (!m) return { where, action, count: 0 };
    const sql =
      c.erase === 'delete'
        ? `delete from ${q(c.table)} where ${m.sql}`
        : `update ${q(c.table)} set ${c.erase.mask.map((col) => `${q(col)} = null`).join(', ')} where ${m.sql}${stillPersonal(c)}`;
    const r = await tx.query(sql, m.params);
    return { where, action, count: r.rowCount };
  }

  const connector: SqlConnector = {
    id: spec.id,
    type: spec.type,

    async locate(ids): Promise<Located[]> {
      const out: Located[] = [];
      for (const c of spec.collections) {
        const where = whereOf(c);
        out.push({ where, count: await at(where, () => count(db(), c, ids)), retained: retainOf(c) });
      }
      return out;
    },

    async export(ids): Promise<ExportedRecords[]> {
      const out: ExportedRecords[] = [];
      for (const c of spec.collections) {
        const where = whereOf(c);
        const m = match(c.identity, ids);
        const cols = c.access?.length ? c.access.map(q).join(', ') : '*';
        const rows = m
          ? (await at(where, () => db().query(`select ${cols} from ${q(c.table)} where ${m.sql}`, m.params)))
              .rows
          : [];
        out.push({
          where,
          category: categoryOf(c),
          records: rows.map((row) =>
            Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plainValue(v)])),
          ),
        });
      }
      return out;
    },

    async erase(ids): Promise<EraseOutcome[]> {
      return at(spec.id, () =>
        db().transaction(async (tx) => {
          const out: EraseOutcome[] = [];
          for (const c of spec.collections) out.push(await at(whereOf(c), () => eraseOne(tx, c, ids)));
          return out;
        }),
      );
    },

    async verify(ids): Promise<Located[]> {
      const out: Located[] = [];
      for (const c of spec.collections) {
        if (retainOf(c)) continue;
        const where = whereOf(c);
        out.push({ where, count: await at(where, () => count(db(), c, ids, stillPersonal(c))) });
      }
      return out;
    },

    check(probe) {
      return checkSql(spec, db(), (ids) => connector.locate(ids), probe);
    },

    sweepExpired(opts) {
      return sweepSqlExpired(spec, db(), whereOf, opts);
    },

    async columnValues(table, identity, column, ids): Promise<string[]> {
      const m = match(identity, ids);
      if (!m) return [];
      const col = q(column);
      const r = await at(table, () =>
        db().query(
          `select distinct ${col} as v from ${q(table)} where ${m.sql} and ${col} is not null`,
          m.params,
        ),
      );
      return r.rows.map((row) => plainValue(row.v)).map(String);
    },

    async close(): Promise<void> {
      const d = driver;
      driver = undefined;
      await d?.close();
    },
  };
  return connector;
}
