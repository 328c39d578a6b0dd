import type { Json } from './flow-json-issue.js';

/**
 * The dynamic references inside a Flow JSON string: `${data.x}` (the screen's data), `${form.x}` (an input of
 * the screen) and, from Flow JSON 4.0, `${screen.NAME.data.x}` / `${screen.NAME.form.x}` (another screen's).
 * They may stand alone or sit inside a backtick nested expression (6.0+); every occurrence is found.
 */

export type DynamicReference =
  | { kind: 'data' | 'form'; field: string; raw: string }
  | { kind: 'screen'; screen: string; store: 'data' | 'form'; field: string; raw: string };

const REFERENCE = /\$\{(?:screen\.([A-Za-z0-9_]+)\.(data|form)|(data|form))\.([A-Za-z0-9_-]+)[^}]*\}/g;

export function referencesIn(text: string): DynamicReference[] {
  const out: DynamicReference[] = [];
  for (const m of text.matchAll(REFERENCE)) {
    const [raw, screen, screenStore, store, field] = m;
    if (!field) continue;
    if (screen && screenStore) {
      out.push({ kind: 'screen', screen, store: screenStore as 'data' | 'form', field, raw });
    } else if (store) {
      out.push({ kind: store as 'data' | 'form', field, raw });
    }
  }
  return out;
}

/** True when the string holds a binding or an expression: its shown length is only known at run time. */
export function isDynamic(text: string): boolean {
  return text.includes('${');
}

/** Every string under a value, with its path, for reference checks. */
export function stringsIn(value: Json, path: string, out: { path: string; text: string }[] = []) {
  if (typeof value === 'string') out.push({ path, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => stringsIn(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) stringsIn(v, `${path}.${k}`, out);
  }
  return out;
}
