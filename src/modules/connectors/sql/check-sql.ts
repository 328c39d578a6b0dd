import type { CheckReport, Located, SubjectIdentifiers } from '../port.js';
import type { ColumnInfo, SqlDriver, SqlSpec } from './sql-driver.js';
import { classifySql } from './sql-errors.js';

/**
 * `datamap check` for a SQL system: reachable (SELECT 1); every table and column of the data map exists; every
 * identity column leads some index (else each erasure scans the whole table); mask columns accept NULL; and,
 * with a probe identity, how many rows it matches per collection.
 */
export async function checkSql(
  spec: SqlSpec,
  db: SqlDriver,
  locate: (ids: SubjectIdentifiers) => Promise<Located[]>,
  probe?: SubjectIdentifiers,
): Promise<CheckReport> {
  try {
    await db.ping();
  } catch (err) {
    return { reachable: false, warnings: [classifySql(err, spec.id).message] };
  }
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (!warnings.includes(w)) warnings.push(w);
  };
  const norm = (n: string) => (db.caseInsensitiveColumns ? n.toLowerCase() : n);
  const described = new Map<string, Map<string, ColumnInfo> | undefined>();

  for (const c of spec.collections) {
    if (!described.has(c.table)) {
      try {
        const cols = await db.columns(c.table);
        described.set(c.table, cols && new Map(cols.map((col) => [norm(col.name), col])));
      } catch (err) {
        warn(classifySql(err, c.table).message);
        continue;
      }
    }
    const cols = described.get(c.table);
    if (!cols) {
      warn(`${c.table}: table not found`);
      continue;
    }
    const column = (name: string) => {
      const info = cols.get(norm(name));
      if (!info) warn(`${c.table}.${name}: column not found`);
      return info;
    };
    const id = column(c.identity.column);
    if (id && !id.indexedFirst)
      warn(`${c.table}.${c.identity.column} has no index: each erasure scans the table`);
    if (c.erase !== 'delete' && !(c.retain ?? spec.retain)) {
      for (const m of c.erase.mask) {
        if (column(m)?.notNull) warn(`${c.table}.${m} is NOT NULL: masking sets it to NULL and will fail`);
      }
    }
    for (const a of c.access ?? []) column(a);
    if (c.retention) {
      const r = column(c.retention.column);
      if (r && !r.indexedFirst)
        warn(`${c.table}.${c.retention.column} has no index: each retention batch scans the table`);
    }
  }

  let located: Located[] | undefined;
  if (probe) {
    try {
      located = await locate(probe);
    } catch (err) {
      warn(`probe: ${classifySql(err, spec.id).message}`);
    }
  }
  return { reachable: true, warnings, located };
}
