import type { SystemSpec } from '../../../config/datamap.js';
import type { SubjectIdentifiers } from '../port.js';

export type RedisSpec = Extract<SystemSpec, { type: 'redis' }>;

/**
 * A place of the data map in Redis: keys (`session:{digits}`, exact; `flow:{e164}:*`, a SCAN pattern) or a
 * field of hashes (`{key: "contacts", field: "{bsuid}"}`; the key may hold identifiers and `*` too). `where`
 * is the template as written — never an expanded key.
 */
export type Target =
  | { kind: 'key'; where: string; template: string; wildcard: boolean }
  | { kind: 'field'; where: string; key: string; field: string; wildcard: boolean };

export function targetsOf(spec: RedisSpec): Target[] {
  return spec.keys.map((k): Target =>
    typeof k === 'string'
      ? { kind: 'key', where: k, template: k, wildcard: k.includes('*') }
      : {
          kind: 'field',
          where: `${k.key} field ${k.field}`,
          key: k.key,
          field: k.field,
          wildcard: k.key.includes('*'),
        },
  );
}

/** Escape Redis glob metacharacters so an identifier value matches only itself inside a MATCH pattern. */
export function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&');
}

const PLACEHOLDER = /\{(e164|digits|bsuid)\}/g;
type Format = 'e164' | 'digits' | 'bsuid';

/**
 * Fill templates with the person's identifiers, one tuple per combination of values (templates naming no
 * identifier give nothing). `glob: true` escapes the values for a SCAN pattern; literal text of the template
 * (its `*` wildcards) is kept as written. Empty values are dropped: `{digits}*` must never become `*`.
 */
export function fill(templates: { text: string; glob: boolean }[], ids: SubjectIdentifiers): string[][] {
  const formats = (['e164', 'digits', 'bsuid'] as const).filter((f) =>
    templates.some((t) => t.text.includes(`{${f}}`)),
  );
  if (!formats.length) return [];
  let combos: Partial<Record<Format, string>>[] = [{}];
  for (const f of formats) {
    const values = [...new Set(ids[f].filter((v) => v.trim() !== ''))];
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [f]: v })));
  }
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const c of combos) {
    // One pass per template: a value that itself looks like `{digits}` is not expanded again.
    const filled = templates.map((t) =>
      t.text.replace(PLACEHOLDER, (_, f: Format) => (t.glob ? escapeGlob(c[f] ?? '') : (c[f] ?? ''))),
    );
    const id = filled.join('\u0000');
    if (!seen.has(id)) {
      seen.add(id);
      out.push(filled);
    }
  }
  return out;
}

/** Configuration warnings for `datamap check`. */
export function targetWarnings(targets: Target[]): string[] {
  const out: string[] = [];
  for (const t of targets) {
    const pattern = t.kind === 'key' ? t.template : t.key;
    if (/\{(e164|digits|bsuid)\}[*?[]/.test(pattern)) {
      out.push(`${t.where}: a wildcard right after an identifier also matches longer identifiers`);
    }
  }
  return out;
}
