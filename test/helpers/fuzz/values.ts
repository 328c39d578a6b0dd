import fc from 'fast-check';
import { BODY_LIMIT } from '../../../src/lib/http/http.js';

/**
 * Building blocks of the endpoint fuzzers: hostile strings, odd phone numbers and user ids, broken base64,
 * random JSON and bodies of every size. Kept small on purpose (short strings, shallow JSON) so that ten
 * thousand cases per endpoint stay cheap; the hostile cases come from the constants, not from size.
 */

/** Strings that break parsers, databases, logs and templates. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u0041\u0042',
  '\ufeff',
  '𝟙𝟚𝟛',
  '%00',
  '%',
  '%zz',
  '\\',
  '"',
  "'",
  "'); drop table subjects;--",
  "' OR '1'='1",
  '"; drop table privacy_requests; --',
  '`id`',
  '${process.env}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  '1e309',
  '-0',
  '0x1F',
  '\r\n\r\nHTTP/1.1 200 OK',
] as const;

/** Lone surrogates cannot travel in UTF-8: they arrive as U+FFFD. */
export const wellFormed = (x: string): string => Buffer.from(x, 'utf8').toString('utf8');

/** Any UTF-16 code unit, lone surrogates and NUL included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

export const anyString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 24 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 16 }), weight: 2 },
  { arbitrary: fc.string({ unit: codeUnit, maxLength: 12 }), weight: 2 },
  { arbitrary: fc.constantFrom(...HOSTILE_STRINGS), weight: 3 },
);

/** A string just past one of the field limits (256, 1024, 4096, 64 Ki characters); costly, so use rarely. */
export const longString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(257, 1025, 4097, 65_537), fc.constantFrom('x', '9', 'é', '\u0000', '+'))
  .map(([n, c]) => c.repeat(n));

/** Random JSON, shallow. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 2, depthSize: 'xsmall' });

/** A value of the wrong type for a string field (or a string). */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: anyString, weight: 12 },
  { arbitrary: fc.constant(null), weight: 4 },
  { arbitrary: fc.boolean(), weight: 4 },
  { arbitrary: fc.integer(), weight: 4 },
  { arbitrary: fc.double(), weight: 4 },
  { arbitrary: fc.constantFrom(1e308, -1, 0, Number.MAX_SAFE_INTEGER + 2), weight: 4 },
  { arbitrary: fc.array(anyString, { maxLength: 3 }), weight: 4 },
  { arbitrary: fc.dictionary(anyString, anyString, { maxKeys: 3 }), weight: 4 },
  { arbitrary: longString, weight: 1 },
);

/** Fake +1555 digits (never a real number), from a crowd of 500 so that people recur. */
export const fakeDigits = fc.integer({ min: 0, max: 499 }).map((n) => `1555018${String(n).padStart(4, '0')}`);

/** Phone numbers as people and systems write them: valid, formatted, foreign, broken and hostile. */
export const oddPhone: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fakeDigits.map((d) => `+${d}`), weight: 3 },
  fakeDigits,
  fakeDigits.map((d) => `+${d.slice(0, 1)} (${d.slice(1, 4)}) ${d.slice(4, 7)}-${d.slice(7)}`),
  fakeDigits.map((d) => `00${d}`),
  fakeDigits.map((d) => ` +${d}\t`),
  fakeDigits.map((d) => `+${d}`.replace(/\d/g, (c) => String.fromCharCode(0xff10 + Number(c)))),
  fakeDigits.map((d) => `+${d}`.replace(/\d/g, (c) => String.fromCharCode(0x0660 + Number(c)))),
  fakeDigits.map((d) => `+${d} ext. 12`),
  fakeDigits.map((d) => `+${d}${d}`),
  fakeDigits.map((d) => `+${d.slice(0, 4)}`),
  fakeDigits.map((d) => `tel:+${d}`),
  fakeDigits.map((d) => `+${d}'); drop table subjects;--`),
  fc.constantFrom(
    '+',
    '+0',
    '+000000000000000',
    '+999999999999999',
    '+1555CALLME',
    '-15550100000',
    '+1.555.010.0000',
  ),
  anyString,
);

/** Business-scoped user ids, valid and not. */
export const oddBsuid: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^US\.[A-Za-z0-9]{1,40}$/), weight: 3 },
  fc.stringMatching(/^[A-Z]{2}\.[A-Za-z0-9]{129,140}$/),
  fc.constantFrom('US.', 'us.abc', 'USA.abc', 'US..x', 'US.a-b', "US.x'); drop table subjects;--", '.US'),
  anyString,
);

/** Base64 that decodes to the wrong thing, or does not decode at all. */
export function oddBase64(valid: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 64 }).map(Buffer.from)) {
  return fc.oneof(
    valid.map((b) => b.toString('base64')),
    valid.map((b) => b.toString('base64url')),
    valid.map((b) => b.toString('base64').replace(/(.{8})/g, '$1\n')),
    valid.map((b) => b.toString('base64').replace(/=+$/, '')),
    valid.map((b) => `${b.toString('base64')}===`),
    valid.map((b) => `${b.toString('base64')}A`),
    valid.map((b) => ` ${b.toString('base64')}`),
    valid.map((b) => b.toString('base64').replace(/[A-Z]/, '*')),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', '=', '====', 'A', '!!!!', '\u0000\u0000\u0000\u0000'),
  );
}

/** Random bytes, mostly not UTF-8. */
export const randomBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));

/** One body over the 3 MB limit (built once: copying it is cheap, generating it is not). */
export const OVERSIZED = Buffer.alloc(BODY_LIMIT + 1024, '{"a":"b"}');
export const oversizedBody: fc.Arbitrary<Buffer> = fc.constant(OVERSIZED);

/** Content types a client may send; the receivers read every well-formed one the same way ('x' and
 * 'application/' are not media types: see postCase). */
export const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  '*/*',
  'x',
  'application/',
);

/** A well-formed sha256=<hex> that signs nothing. */
const randomSignature = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `sha256=${Buffer.from(b).toString('hex')}`);

/** Signature headers that are not a valid signature of anything in particular. */
export const badSignatureHeader: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
  fc.constant(undefined),
  randomSignature,
  randomSignature.map((s) => s.toUpperCase()),
  randomSignature.map((s) => s.slice(0, 40)),
  randomSignature.map((s) => `${s}00`),
  randomSignature.map((s) => s.replace('sha256=', 'sha1=')),
  randomSignature.map((s) => s.replace('sha256=', '')),
  randomSignature.map((s) => [s, s]),
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', 'sha256=', `sha256=${'g'.repeat(64)}`, `sha256=${' '.repeat(64)}`),
);

/** A UUID the store does not know. */
export const uuid = fc.uuid({ version: 4 });

type Path = (string | number)[];

/** Every node below the root of a JSON-like value, as a path. */
function nodePaths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (typeof value !== 'object' || value === null) return out;
  for (const [k, v] of Object.entries(value)) {
    const p = [...at, Array.isArray(value) ? Number(k) : k];
    out.push(p);
    nodePaths(v, p, out);
  }
  return out;
}

/** Replace or delete the node at `path` (in place). */
function applyAt(root: unknown, path: Path, change: { set: unknown } | { drop: true }): void {
  let node = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if ('drop' in change) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = change.set;
}

/** Replacements for one node of a valid value: wrong types, hostile strings, odd identities, huge strings. */
const replacement: fc.Arbitrary<{ set: unknown } | { drop: true }> = fc.oneof(
  { arbitrary: anyValue.map((set) => ({ set })), weight: 4 },
  oddPhone.map((set) => ({ set })),
  oddBsuid.map((set) => ({ set })),
  fc.constant({ drop: true as const }),
);

/**
 * A valid value with up to `max` of its nodes replaced or deleted: most cases are nearly valid, so each
 * reaches deep into the code before the one wrong thing is met (random structures rarely get past the first
 * check). With no change at all now and then, the valid path is exercised too.
 */
export function mutated<T>(valid: fc.Arbitrary<T>, max = 2): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), replacement), { maxLength: max }))
    .map(([value, changes]) => {
      const copy = structuredClone(value) as unknown;
      for (const [pick, change] of changes) {
        const paths = nodePaths(copy);
        if (paths.length === 0) break;
        applyAt(copy, paths[pick % paths.length]!, change);
      }
      return copy;
    });
}

/** The string leaves of a JSON-like value, as paths. */
function stringPaths(value: unknown): Path[] {
  return nodePaths(value).filter((p) => {
    let node: unknown = value;
    for (const k of p) node = (node as Record<string | number, unknown>)[k];
    return typeof node === 'string';
  });
}

/** What a database, a log line or a template chokes on. */
const POISON = ['\u0000', '\ud800', "'); drop table subjects;--", '\\', '%00', '\u202e'] as const;

/**
 * A valid value with about half of its content strings made hostile (a poison appended, or put in their
 * place). Strings under `structural` keys are left alone: a poisoned id, type or timestamp only gets the item
 * refused at the door (the `mutated` cases cover that), while content travels all the way to storage. The
 * choices come from one generated seed (a small linear congruential generator): cheap and replayable.
 */
export function poisoned<T>(valid: fc.Arbitrary<T>, structural: ReadonlySet<string>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.integer({ min: 1, max: 0x7ffffffe })).map(([value, seed]) => {
    let state = seed;
    const next = () => (state = (state * 48271) % 0x7fffffff);
    const copy = structuredClone(value) as unknown;
    for (const path of stringPaths(copy)) {
      const last = path[path.length - 1]!;
      if ((typeof last === 'string' && structural.has(last)) || next() % 2 === 0) continue;
      let parent = copy as Record<string | number, unknown>;
      for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
      const poison = POISON[next() % POISON.length]!;
      parent[last] = next() % 2 === 0 ? `${String(parent[last])}${poison}` : poison;
    }
    return copy;
  });
}
