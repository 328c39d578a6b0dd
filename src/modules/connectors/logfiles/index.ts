import fs from 'node:fs/promises';
import type { SystemSpec } from '../../../config/datamap.js';
import { classify } from '../errors.js';
import type { Connector, EraseOutcome, Located, SubjectIdentifiers } from '../port.js';
import { registerConnector } from '../registry.js';
import { canRewrite, expandPaths } from './files.js';
import { createMatcher } from './match.js';
import { rewriteWithout } from './rewrite.js';
import { countMatches, exportFrom, locateIn } from './scan.js';

type LogfilesSpec = Extract<SystemSpec, { type: 'logfiles' }>;

/**
 * Log files on this host (plain or gzip, JSON lines or text): lines about a person are counted, exported and
 * removed by rewriting each file without them. A file flowguard may not rewrite (read-only) is not erased:
 * erase reports it (`reported`, reason `read-only`, with the count) so the proof says the data is still
 * there, and verify leaves it out — verify counts only what erase can remove, so a read-only file does not
 * make the task retry forever. See README.md for the limits (concurrent appends, formatted numbers).
 */
function createLogfilesConnector(spec: LogfilesSpec): Connector {
  const category = spec.category ?? 'logs';
  const retained = spec.retain?.reason;
  const hasIds = (ids: SubjectIdentifiers) => ids.e164.length + ids.digits.length + ids.bsuid.length > 0;

  async function writable(file: string): Promise<boolean> {
    const st = await fs.stat(file).catch(() => undefined);
    return st !== undefined && (await canRewrite(file, st.mode));
  }

  return {
    id: spec.id,
    type: 'logfiles',
    async locate(ids): Promise<Located[]> {
      if (!hasIds(ids)) return [];
      const found = await locateIn(await expandPaths(spec.paths), createMatcher(ids, spec.format));
      return found.map((l) => ({ ...l, retained }));
    },
    async export(ids) {
      if (!hasIds(ids)) return [];
      return exportFrom(
        await expandPaths(spec.paths),
        createMatcher(ids, spec.format),
        spec.format,
        category,
      );
    },
    async erase(ids): Promise<EraseOutcome[]> {
      if (!hasIds(ids)) return [];
      const match = createMatcher(ids, spec.format);
      const out: EraseOutcome[] = [];
      for (const file of await expandPaths(spec.paths)) {
        const count = await countMatches(file, match);
        if (count === 0) continue;
        if (retained) {
          out.push({ where: file, action: 'retained', count, reason: retained });
          continue;
        }
        const result = (await writable(file))
          ? await rewriteWithout(file, match)
          : ({ readOnly: true } as const);
        out.push(
          'readOnly' in result
            ? { where: file, action: 'reported', count, reason: 'read-only' }
            : { where: file, action: 'deleted', count: result.removed },
        );
      }
      return out;
    },
    async verify(ids): Promise<Located[]> {
      if (retained || !hasIds(ids)) return [];
      const match = createMatcher(ids, spec.format);
      const out: Located[] = [];
      for (const file of await expandPaths(spec.paths)) {
        if (!(await writable(file))) continue;
        const count = await countMatches(file, match);
        if (count > 0) out.push({ where: file, count });
      }
      return out;
    },
    async check() {
      const warnings: string[] = [];
      try {
        for (const pattern of spec.paths) {
          const files = await expandPaths([pattern]);
          if (!files.length) warnings.push(`${spec.id}: ${pattern} matches no file`);
          for (const f of files) {
            if (!(await writable(f)))
              warnings.push(`${spec.id}: ${f} is read-only; erasure will be reported, not done`);
          }
        }
        return { reachable: true, warnings };
      } catch (err) {
        return { reachable: false, warnings: [...warnings, `${spec.id}: ${classify(err).message}`] };
      }
    },
    async close() {
      // nothing held open between calls
    },
  };
}

registerConnector('logfiles', (spec) => createLogfilesConnector(spec));
