import fc from 'fast-check';
import { postCase, type FuzzCase } from './harness.js';
import {
  anyJson,
  anyString,
  anyValue,
  contentType,
  fakeDigits,
  longString,
  oddBsuid,
  oddPhone,
  OVERSIZED,
} from './values.js';
import { deepJson, notJson } from './webhook-cases.js';

/**
 * Cases for the API-key routes (`POST /v1/requests`, `POST /v1/flow-tokens`: 401 without a valid key, 400 for a
 * body that is not what ARCHITECTURE.md documents, 200/202 and 201 for a valid one) and the admin sign-in
 * (`POST /admin/api/session`: 415 unless JSON, 400 for a bad body, 401 for wrong credentials, 429 once the
 * address is locked).
 */

export interface ApiKeys {
  /** Live keys of the default tenant. */
  valid: readonly string[];
  /** Revoked, or well-formed but never issued. */
  dead: readonly string[];
}

const REQUEST_TYPES = ['erasure', 'access', 'opt_out', 'restriction'] as const;

/** `Authorization` values: a live key (in odd but valid spellings) or anything that is not one. */
function authorization(keys: ApiKeys) {
  const live = fc.constantFrom(...keys.valid);
  return fc.oneof(
    { arbitrary: live.map((k) => ({ header: `Bearer ${k}` as string | undefined, ok: true })), weight: 1 },
    live.map((k) => ({ header: `bearer \t${k} `, ok: true })),
    // Refused before any store lookup: 80% of the cases, which keeps the run affordable.
    {
      arbitrary: fc
        .oneof(
          fc.constantFrom(...keys.dead).map((k) => `Bearer ${k}`),
          live.map((k) => `Bearer ${k.slice(0, -1)}`),
          live.map((k) => `Bearer ${k}x`),
          live.map((k) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`),
          live.map((k) => k),
          live.map((k) => `Bearer ${k} ${k}`),
          fc.constantFrom('Bearer', 'Bearer ', '', 'Bearer null'),
          anyString.map((s) => `Bearer ${s.replace(/[\r\n]/g, '')}`),
          fc.constant(undefined),
        )
        .map((header) => ({ header, ok: false })),
      weight: 8,
    },
  );
}

/** A JSON body for a route that takes one: the valid shapes, near misses and garbage. */
function bodies<T extends Record<string, unknown>>(
  valid: fc.Arbitrary<T>,
  invalid: fc.Arbitrary<Record<string, unknown> | unknown[] | string | number | null>,
  odd: fc.Arbitrary<Record<string, unknown>>,
) {
  return fc.oneof(
    // A valid body writes to the store (the costly path): kept to one keyed case in twenty.
    { arbitrary: valid.map((b) => ({ body: JSON.stringify(b), kind: 'valid' as const })), weight: 1 },
    { arbitrary: invalid.map((b) => ({ body: JSON.stringify(b), kind: 'invalid' as const })), weight: 8 },
    { arbitrary: odd.map((b) => ({ body: JSON.stringify(b), kind: 'odd' as const })), weight: 8 },
    {
      arbitrary: fc
        .oneof({ arbitrary: notJson, weight: 5 }, fc.constant(''), deepJson)
        .map((body) => ({ body, kind: 'invalid' as const })),
      weight: 3,
    },
  );
}

function apiCases(
  url: string,
  keys: ApiKeys,
  body: ReturnType<typeof bodies>,
  success: readonly number[],
): fc.Arbitrary<FuzzCase> {
  return fc.oneof(
    {
      arbitrary: fc.tuple(authorization(keys), body, contentType).map(([auth, b, ct]) => {
        const expect = !auth.ok
          ? [401]
          : b.kind === 'valid'
            ? success
            : b.kind === 'invalid'
              ? [400]
              : [...success, 400];
        const label = `${auth.ok ? 'key' : 'no-key'}:${auth.ok ? b.kind : 'any'}`;
        return postCase(url, label, b.body, { 'content-type': ct, authorization: auth.header }, expect);
      }),
      weight: 30,
    },
    authorization(keys).map((auth) =>
      postCase(
        url,
        'oversized',
        OVERSIZED,
        { 'content-type': 'application/json', authorization: auth.header },
        [413],
      ),
    ),
  );
}

/** Four of the fake people, asked for again and again: a request for one whose request is still open joins it. */
const fewPeople = fc.integer({ min: 0, max: 3 }).map((n) => `+1555018${String(n).padStart(4, '0')}`);

export function requestCases(keys: ApiKeys): fc.Arbitrary<FuzzCase> {
  const valid = fc.record({
    type: fc.constantFrom(...REQUEST_TYPES),
    // Mostly the same few people, so that joining an open request (200) is exercised every run, not by luck.
    phone: fc.oneof(
      { arbitrary: fewPeople, weight: 2 },
      { arbitrary: fakeDigits.map((d) => `+${d}`), weight: 1 },
    ),
  });
  const invalid = fc.oneof(
    fc.record({
      type: fc
        .oneof(anyString, anyValue)
        .filter((t) => !(REQUEST_TYPES as readonly unknown[]).includes(t) && t !== 'rectification'),
      phone: fakeDigits.map((d) => `+${d}`),
    }),
    fc.record({ type: fc.constantFrom(...REQUEST_TYPES), phone: oddPhone, user_id: oddBsuid }),
    fc.record({ type: fc.constantFrom(...REQUEST_TYPES) }),
    fc.record({
      type: fc.constantFrom(...REQUEST_TYPES),
      phone: fakeDigits.map((d) => `+${d}`),
      scope: fc.oneof(longString, fc.integer(), fc.constant({})),
    }),
    fc.record({
      type: fc.constantFrom(...REQUEST_TYPES),
      phone: fakeDigits.map((d) => `+${d}`),
      params: fc.dictionary(anyString, anyValue, { minKeys: 1, maxKeys: 2 }),
    }),
    fc.record({ type: fc.constant('rectification'), phone: fakeDigits.map((d) => `+${d}`) }),
    anyJson.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)) as fc.Arbitrary<
      unknown[] | string | number | null
    >,
  );
  const odd = fc.record(
    {
      type: fc.oneof(fc.constantFrom(...REQUEST_TYPES, 'rectification'), anyValue),
      phone: fc.oneof({ arbitrary: oddPhone, weight: 4 }, anyValue),
      user_id: oddBsuid,
      scope: fc.oneof(fc.constantFrom('all', 'messages', 'media', 'flow_responses', 'marketing'), anyValue),
      params: fc.oneof(
        fc.record({ profile_name: anyValue }, { requiredKeys: [] }),
        fc.record({
          flow_response: fc.record(
            {
              id: fc.oneof(fc.uuid(), anyValue),
              fields: fc.oneof(fc.dictionary(anyString, anyValue, { maxKeys: 3 }), anyValue),
            },
            { requiredKeys: [] },
          ),
        }),
        anyValue,
      ),
      tenant: fc.constantFrom('tenant-b', 'default'),
    },
    { requiredKeys: [] },
  );
  return apiCases('/v1/requests', keys, bodies(valid, invalid, odd), [200, 202]);
}

export function flowTokenCases(keys: ApiKeys): fc.Arbitrary<FuzzCase> {
  const valid = fc.oneof(
    fakeDigits.map((d) => ({ phone: `+${d}` }) as Record<string, unknown>),
    fc.stringMatching(/^US\.[A-Za-z0-9]{8,40}$/).map((u) => ({ user_id: u }) as Record<string, unknown>),
  );
  const invalid = fc.oneof(
    fc.record({
      phone: fakeDigits.map((d) => `+${d}`),
      user_id: fc.stringMatching(/^US\.[A-Za-z0-9]{8,20}$/),
    }),
    fc.record({ other: anyValue }, { requiredKeys: [] }),
    fc.record({ phone: fc.oneof(fc.integer(), fc.boolean(), fc.constant([]), fc.constant({})) }),
    fc.record({ phone: fc.constantFrom('+', '+1555CALLME', '+0', '12', '+1555010000000000000') }),
    anyJson.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)) as fc.Arbitrary<
      unknown[] | string | number | null
    >,
  );
  const odd = fc.record(
    { phone: oddPhone, user_id: oddBsuid, tenant: fc.constant('tenant-b') },
    { requiredKeys: [] },
  );
  return apiCases('/v1/flow-tokens', keys, bodies(valid, invalid, odd), [201]);
}

/** Sign-in: every generated credential is wrong, so a well-formed body is 401, or 429 once the address is locked. */
export function sessionCases(knownEmail: string): fc.Arbitrary<FuzzCase> {
  const URL = '/admin/api/session';
  const email = fc.oneof(
    fc.constant(knownEmail),
    fc.emailAddress(),
    anyString.filter((s) => s.length > 0 && s.length <= 254),
  );
  const wellFormed = fc.record(
    {
      email,
      password: fc.string({ minLength: 1, maxLength: 40 }),
      totp: fc.stringMatching(/^\d{6}$/),
      recovery_code: fc.string({ maxLength: 64 }),
    },
    { requiredKeys: ['email', 'password'] },
  );
  const malformed = fc.oneof(
    fc.record({
      email: fc.oneof(fc.constant(''), longString, fc.integer(), fc.constant(null)),
      password: fc.string({ minLength: 1 }),
    }),
    fc.record({
      email,
      password: fc.oneof(
        fc.constant(''),
        fc.integer(),
        fc.constant(null),
        fc.string({ minLength: 2049, maxLength: 2100 }),
      ),
    }),
    fc.record({
      email,
      password: fc.string({ minLength: 1 }),
      totp: fc.oneof(fc.string({ minLength: 17, maxLength: 30 }), fc.integer(), fc.constant({})),
    }),
    fc.record({
      email,
      password: fc.string({ minLength: 1 }),
      recovery_code: fc.oneof(fc.string({ minLength: 65, maxLength: 80 }), fc.integer()),
    }),
    fc.record({ password: fc.string({ minLength: 1 }) }),
    anyJson.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  );
  // The documented rule: the body must be sent as application/json (any parameters).
  const isJson = (ct: string) => /^application\/json\s*(;|$)/i.test(ct);
  const json = { 'content-type': 'application/json' };
  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight });
  return fc.oneof(
    // Each well-formed attempt is a throttle transaction in the store: one case in sixty.
    w(
      1,
      wellFormed.map((b) => postCase(URL, 'well-formed', JSON.stringify(b), json, [401, 429])),
    ),
    w(
      32,
      malformed.map((b) => postCase(URL, 'malformed', JSON.stringify(b), json, [400])),
    ),
    w(
      12,
      fc
        .oneof({ arbitrary: notJson, weight: 5 }, fc.constant(''), deepJson)
        .map((b) => postCase(URL, 'not-json', b, json, [400])),
    ),
    w(
      12,
      fc
        .tuple(
          fc.oneof(
            wellFormed.map((b) => JSON.stringify(b)),
            anyString,
          ),
          contentType.filter((ct) => !isJson(ct)),
        )
        .map(([b, ct]) => postCase(URL, 'not-json-type', b, { 'content-type': ct }, [415])),
    ),
    w(
      2,
      fc.constant(null).map(() => postCase(URL, 'oversized', OVERSIZED, json, [413])),
    ),
  );
}
