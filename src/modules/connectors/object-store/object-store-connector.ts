import type { SystemSpec } from '../../../config/datamap.js';
import { classify } from '../errors.js';
import { expandTemplate } from '../identifiers.js';
import type {
  CheckReport,
  Connector,
  ConnectorDeps,
  EraseOutcome,
  ExportedRecords,
  Located,
  SubjectIdentifiers,
} from '../port.js';
import { sqlColumnValuesFrom } from '../sql/index.js';
import { mapLimit, type ObjectBackend, type StoredObject } from './backend.js';
import { nonEmptyIds, objectKeyOf, prefixTemplateWarning } from './object-key.js';

type ObjectStoreSpec = Extract<SystemSpec, { type: 's3' | 'azure-blob' }>;

/** At most this many objects per place in an access export (their keys and sizes, not their contents). */
const EXPORT_LIMIT = 10_000;
const HEAD_CONCURRENCY = 16;

/** One place of the data map: a prefix template, or the object keys a SQL column holds. */
interface Source {
  where: string;
  pages(ids: SubjectIdentifiers): AsyncIterable<StoredObject[]>;
}

/**
 * The connector shared by S3 and Azure Blob. A person's objects are those under each `prefixes` template
 * expanded with their identifiers (a literal prefix: identifier values cannot widen it) and those whose keys a
 * SQL system of the data map holds in a column for them (`keysFromSql`; read them BEFORE that system erases
 * its rows). Export lists keys, sizes and dates; erase deletes in batches; verify lists again. A retained
 * system (`retain`) is counted and reported, never deleted. Outcomes name templates, never expanded keys.
 */
export function createObjectStoreConnector(
  spec: ObjectStoreSpec,
  deps: ConnectorDeps,
  makeBackend: () => ObjectBackend,
  /** The bucket or container name, to recognise URLs of this store in SQL columns. */
  container: string,
): Connector {
  let backend: ObjectBackend | undefined;
  const store = () => (backend ??= makeBackend());
  let probed: Promise<string[]> | undefined;
  const columnValues = deps.sqlColumnValues?.bind(deps) ?? sqlColumnValuesFrom((id) => deps.lookup(id));
  const category = spec.category ?? 'other';
  const retained = spec.retain?.reason;

  /** The bucket exists and answers (once per connector): a HEAD on a missing bucket would look like "no object". */
  function ready(): Promise<string[]> {
    probed ??= Promise.resolve()
      .then(() => store().probe())
      .catch((err: unknown) => {
        probed = undefined;
        throw classify(err);
      });
    return probed;
  }

  const sources: Source[] = [
    ...spec.prefixes.map((template): Source => ({
      where: `prefix ${template}`,
      async *pages(ids) {
        for (const prefix of new Set(expandTemplate(template, nonEmptyIds(ids)))) {
          yield* store().list(prefix);
        }
      },
    })),
    ...spec.keysFromSql.map((k): Source => ({
      where: `keys in ${k.system}.${k.table}.${k.keyColumn}`,
      async *pages(ids) {
        const values = await columnValues(k.system, k.table, k.identity, k.keyColumn, nonEmptyIds(ids)).catch(
          (err: unknown) => {
            throw classify(err);
          },
        );
        const keys = [
          ...new Set(values.map((v) => objectKeyOf(v, container)).filter((x): x is string => !!x)),
        ];
        for (let i = 0; i < keys.length; i += 1000) {
          const found = await mapLimit(keys.slice(i, i + 1000), HEAD_CONCURRENCY, (key) => store().head(key));
          yield found.filter((o): o is StoredObject => !!o);
        }
      },
    })),
  ];

  /** Distinct objects of one source, page by page (`onPage` sees each object once; returning false stops). */
  async function walk(
    source: Source,
    ids: SubjectIdentifiers,
    onPage: (objects: StoredObject[]) => Promise<boolean | void>,
  ) {
    const seen = new Set<string>();
    for await (const page of source.pages(ids)) {
      const fresh = page.filter((o) => !seen.has(o.key));
      for (const o of fresh) seen.add(o.key);
      if (fresh.length && (await onPage(fresh)) === false) return;
    }
  }

  async function countAll(ids: SubjectIdentifiers): Promise<Located[]> {
    await ready();
    const out: Located[] = [];
    for (const s of sources) {
      let count = 0;
      await walk(s, ids, async (objects) => {
        count += objects.length;
      });
      out.push({ where: s.where, count, retained });
    }
    return out;
  }

  const connector: Connector = {
    id: spec.id,
    type: spec.type,

    locate: countAll,

    async export(ids): Promise<ExportedRecords[]> {
      await ready();
      const out: ExportedRecords[] = [];
      for (const s of sources) {
        const records: Record<string, unknown>[] = [];
        await walk(s, ids, async (objects) => {
          for (const o of objects.slice(0, EXPORT_LIMIT - records.length)) {
            records.push({ key: o.key, size: o.size, lastModified: o.lastModified });
          }
          return records.length < EXPORT_LIMIT;
        });
        out.push({ where: s.where, category, records });
      }
      return out;
    },

    async erase(ids): Promise<EraseOutcome[]> {
      if (retained) {
        return (await countAll(ids)).map((l) => ({
          where: l.where,
          action: 'retained',
          count: l.count,
          reason: retained,
        }));
      }
      await ready();
      const out: EraseOutcome[] = [];
      for (const s of sources) {
        let count = 0;
        // Deleting the page just listed does not disturb the listing: its continuation starts after the last key.
        await walk(s, ids, async (objects) => {
          count += await store().remove(objects.map((o) => o.key));
        });
        out.push({ where: s.where, action: 'deleted', count });
      }
      return out;
    },

    async verify(ids): Promise<Located[]> {
      if (retained) return [];
      return countAll(ids);
    },

    async check(probe?: SubjectIdentifiers): Promise<CheckReport> {
      let warnings: string[];
      try {
        warnings = [...(await ready())];
      } catch (err) {
        return { reachable: false, warnings: [classify(err).code] };
      }
      for (const t of spec.prefixes) {
        const w = prefixTemplateWarning(t);
        if (w) warnings.push(w);
      }
      return { reachable: true, warnings, located: probe ? await countAll(probe) : undefined };
    },

    async close(): Promise<void> {
      const b = backend;
      backend = undefined;
      probed = undefined;
      await b?.close();
    },
  };
  return connector;
}
