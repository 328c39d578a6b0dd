import type { Identity } from '../../lib/phone.js';
import { e164Digits } from '../../lib/phone.js';
import type { SubjectIdentifiers } from './port.js';

export function identifiersOf(identities: Identity[]): SubjectIdentifiers {
  const e164 = [...new Set(identities.filter((i) => i.kind === 'phone').map((i) => i.value))];
  return {
    e164,
    digits: e164.map(e164Digits),
    bsuid: [...new Set(identities.filter((i) => i.kind === 'bsuid').map((i) => i.value))],
  };
}

/** Expand a template such as `session:{digits}` for every identifier it names; templates naming none are dropped. */
export function expandTemplate(template: string, ids: SubjectIdentifiers): string[] {
  const formats = (['e164', 'digits', 'bsuid'] as const).filter((f) => template.includes(`{${f}}`));
  let out = [template];
  for (const f of formats) {
    const values = ids[f];
    out = out.flatMap((t) => values.map((v) => t.split(`{${f}}`).join(v)));
  }
  return formats.length ? out : [];
}
