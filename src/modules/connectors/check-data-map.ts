import type { Identity } from '../../lib/phone.js';
import type { DataMap } from './data-map.js';
import { classify } from './errors.js';
import { identifiersOf } from './identifiers.js';
import type { Located } from './port.js';

export interface SystemCheck {
  id: string;
  type: string;
  reachable: boolean;
  error?: string | undefined;
  warnings: string[];
  /** With a probe identity: what each place holds for it (a dry run; nothing is changed). */
  located?: Located[] | undefined;
}

/**
 * `datamap check`: reach every system, report configuration warnings (identity columns without an index turn
 * each erasure into a table scan) and, for a probe identity, what would be erased — without erasing it.
 */
export async function checkDataMap(
  dataMap: DataMap,
  probe?: Identity[],
): Promise<{ ok: boolean; systems: SystemCheck[] }> {
  const ids = probe?.length ? identifiersOf(probe) : undefined;
  const systems = await Promise.all(
    dataMap.systems.map(async (spec): Promise<SystemCheck> => {
      const connector = dataMap.get(spec.id)!;
      try {
        const report = await connector.check(ids);
        const located = ids ? (report.located ?? (await connector.locate(ids))) : undefined;
        return {
          id: spec.id,
          type: spec.type,
          reachable: report.reachable,
          warnings: report.warnings,
          located,
        };
      } catch (err) {
        return { id: spec.id, type: spec.type, reachable: false, error: classify(err).code, warnings: [] };
      }
    }),
  );
  return { ok: systems.every((s) => s.reachable), systems };
}
