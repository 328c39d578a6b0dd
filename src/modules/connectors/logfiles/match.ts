import type { SubjectIdentifiers } from '../port.js';

/**
 * Which log lines are about a person. Text lines: an identifier value (+E.164, digits, BSUID) occurs with a
 * boundary on each side — the neighbouring character is not a letter or digit — so `15551234` does not match
 * inside `155512345` or `0015551234`. JSON lines: parsed, and a line matches when any string anywhere in it
 * (values and keys) equals or contains an identifier with the same boundaries, or a number equals the digits;
 * a line that is not valid JSON is matched as text. A byte-level pre-check skips lines holding none of the
 * values, so most lines are never decoded or parsed.
 */

export type LineMatcher = (line: Buffer) => boolean;

const WORD = /[A-Za-z0-9]/;

function containsBounded(text: string, value: string): boolean {
  const checkBefore = WORD.test(value[0] ?? '');
  const checkAfter = WORD.test(value[value.length - 1] ?? '');
  for (let i = text.indexOf(value); i !== -1; i = text.indexOf(value, i + 1)) {
    const before = i > 0 ? text[i - 1]! : '';
    const after = text[i + value.length] ?? '';
    if ((!checkBefore || !WORD.test(before)) && (!checkAfter || !WORD.test(after))) return true;
  }
  return false;
}

export function createMatcher(ids: SubjectIdentifiers, format: 'jsonl' | 'text'): LineMatcher {
  const values = [...new Set([...ids.e164, ...ids.digits, ...ids.bsuid])].filter((v) => v.length > 0);
  // Every E.164 value contains its digits, so digits and BSUIDs are enough for the pre-check.
  const needles = [...new Set([...ids.digits, ...ids.bsuid, ...ids.e164.map((v) => v.replace(/^\+/, ''))])]
    .filter((v) => v.length > 0)
    .map((v) => Buffer.from(v, 'utf8'));
  const digits = new Set(ids.digits);
  const inText = (text: string) => values.some((v) => containsBounded(text, v));

  const inJson = (node: unknown): boolean => {
    if (typeof node === 'string') return inText(node);
    if (typeof node === 'number') return digits.has(String(node));
    if (Array.isArray(node)) return node.some(inJson);
    if (node && typeof node === 'object') {
      return Object.entries(node).some(([k, v]) => inText(k) || inJson(v));
    }
    return false;
  };

  return (line) => {
    if (!needles.some((n) => line.includes(n))) return false;
    const text = line.toString('utf8');
    if (format === 'text') return inText(text);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return inText(text);
    }
    return inJson(parsed);
  };
}
