import crypto from 'node:crypto';
import fc from 'fast-check';
import { postCase, type FuzzCase } from './harness.js';
import { anyJson, anyString, anyValue, badSignatureHeader, OVERSIZED, uuid, wellFormed } from './values.js';
import { notJson } from './webhook-cases.js';

/**
 * Cases for the http connector's confirmation route (`POST /callbacks/systems/:system/:request`): 404 unknown
 * system, 401 bad or stale signature, 400 not a valid confirmation or one naming another request, 404 unknown
 * request, 200 applied (again: the same answer).
 */

const now = () => Math.floor(Date.now() / 1000);

export interface ConfirmationSetup {
  systemId: string;
  secret: string;
  /** Requests with a task of this system waiting for its confirmation. */
  requestIds: readonly string[];
}

const sign = (secret: string, body: string) =>
  `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;

export function confirmationCases(s: ConfirmationSetup): fc.Arbitrary<FuzzCase> {
  const url = (system: string, request: string) => `/callbacks/systems/${system}/${request}`;
  const known = fc.constantFrom(...s.requestIds);
  const counts = fc.oneof(
    {
      arbitrary: fc.dictionary(
        fc.constantFrom('profiles', 'orders', 'chat:sessions', 'a/b'),
        fc.nat({ max: 1000 }),
        { maxKeys: 2 },
      ),
      weight: 4,
    },
    fc.dictionary(fc.oneof(fc.constant('1234567'), anyString), fc.oneof(fc.nat(), anyValue), { maxKeys: 2 }),
    anyValue,
  );
  const confirmation = (requestId: string, fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      request_id: requestId,
      system_id: s.systemId,
      action: 'erase',
      status: 'done',
      counts: { profiles: 1 },
      timestamp: now(),
      ...fields,
    });
  const signed = (label: string, system: string, request: string, body: string, expect: number[]) =>
    postCase(
      url(system, request),
      label,
      body,
      { 'content-type': 'application/json', 'x-flowguard-signature-256': sign(s.secret, body) },
      expect,
    );

  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight });
  // Weights: the cases that reach a store transaction (known requests) are one in twenty; the rest are refused
  // before it, where most of the parsing is.
  return fc.oneof(
    // Well-formed confirmations of waiting tasks: applied (a failure report dead-letters; a later done revives).
    w(
      1,
      fc
        .tuple(known, fc.constantFrom('done', 'failed'), fc.boolean())
        .map(([id, status, upper]) =>
          signed(
            `known:${status}`,
            s.systemId,
            upper ? id.toUpperCase() : id,
            confirmation(id, { status, reason: 'receiver_busy' }),
            [200],
          ),
        ),
    ),
    w(
      1,
      fc
        .tuple(
          known,
          counts,
          fc.array(fc.record({ where: anyValue, count: anyValue, reason: anyValue }, { requiredKeys: [] }), {
            maxLength: 2,
          }),
        )
        .map(([id, c, retained]) =>
          signed('known:odd-counts', s.systemId, id, confirmation(id, { counts: c, retained }), [200, 400]),
        ),
    ),
    w(
      1,
      uuid.map((id) => signed('unknown-request', s.systemId, id, confirmation(id), [404])),
    ),
    w(
      6,
      fc
        .tuple(known, uuid)
        .map(([id, other]) => signed('other-request', s.systemId, id, confirmation(other), [400])),
    ),
    w(
      6,
      fc
        .tuple(known, anyString)
        .map(([id, junk]) => signed('junk-url-id', s.systemId, pathPart(junk), confirmation(id), [404])),
    ),
    // Signed, but not a confirmation.
    w(
      10,
      fc
        .tuple(
          known,
          fc.oneof(
            fc
              .constantFrom('timestamp', 'system_id', 'request_id')
              .chain((k) => fc.oneof(anyValue, fc.constant(undefined)).map((v) => ({ [k]: v }))),
            fc.record({ status: fc.oneof(anyString, anyValue) }),
          ),
        )
        .map(([id, fields]) => {
          const body = confirmation(id, fields);
          const p = JSON.parse(body) as Record<string, unknown>;
          const ts = p.timestamp;
          const stale = typeof ts === 'number' && Number.isFinite(ts) && Math.abs(now() - ts) > 300;
          const fine = p.system_id === s.systemId && p.request_id === id && typeof ts === 'number' && !stale;
          return signed('signed:bad-field', s.systemId, id, body, stale ? [401] : fine ? [200, 400] : [400]);
        }),
    ),
    w(
      6,
      fc
        .tuple(
          known,
          fc.oneof(
            notJson,
            anyJson.map((v) => JSON.stringify(v) ?? 'null'),
          ),
        )
        .map(([id, b]) => signed('signed:not-json', s.systemId, id, b, [400])),
    ),
    w(
      6,
      fc
        .tuple(known, fc.integer({ min: 301, max: 10_000_000 }), fc.boolean())
        .map(([id, d, past]) =>
          signed(
            'stale',
            s.systemId,
            id,
            confirmation(id, { timestamp: past ? now() - d : now() + d }),
            [401],
          ),
        ),
    ),
    // Not signed by this system.
    w(
      10,
      fc
        .tuple(known, badSignatureHeader)
        .map(([id, sig]) =>
          postCase(
            url(s.systemId, id),
            'bad-signature',
            confirmation(id),
            { 'content-type': 'application/json', 'x-flowguard-signature-256': sig },
            [401],
          ),
        ),
    ),
    w(
      8,
      fc
        .tuple(
          fc.oneof(fc.constantFrom('nobody', 'flowguard', 'BOT', '%2e%2e', '%00'), anyString.map(pathPart)),
          known,
        )
        .map(([system, id]) =>
          signed('unknown-system', system, id, confirmation(id), system === s.systemId ? [200] : [404]),
        ),
    ),
    w(
      1,
      fc
        .constant(null)
        .map(() =>
          postCase(
            url(s.systemId, s.requestIds[0]!),
            'oversized',
            OVERSIZED,
            { 'content-type': 'application/json' },
            [413],
          ),
        ),
    ),
  );
}

/** A URL path segment from any string (lone surrogates become U+FFFD first, as on the wire). */
function pathPart(x: string): string {
  return encodeURIComponent(wellFormed(x)) || 'x';
}
