import crypto from 'node:crypto';
import { expect, it } from 'vitest';
import { identifiersOf } from '../../src/modules/connectors/identifiers.js';
import { PermanentError, RetryableError } from '../../src/modules/connectors/errors.js';
import type { Connector, SubjectIdentifiers } from '../../src/modules/connectors/port.js';

/** A fake person with all three identity formats (phone as E.164 and digits, and a BSUID). */
export function contractPerson() {
  const digits = `1555${crypto.randomInt(100, 999)}${String(crypto.randomInt(0, 10_000)).padStart(4, '0')}`;
  const bsuid = `US.${crypto.randomBytes(9).toString('hex')}`;
  const ids: SubjectIdentifiers = identifiersOf([
    { kind: 'phone', value: `+${digits}` },
    { kind: 'bsuid', value: bsuid },
  ]);
  return {
    digits,
    e164: `+${digits}`,
    bsuid,
    ids,
    name: `Contract Person ${crypto.randomBytes(3).toString('hex')}`,
  };
}
export type ContractPerson = ReturnType<typeof contractPerson>;

export interface ContractFixture {
  /** A connector on the real service. */
  connector: () => Connector;
  /** Store data about this person in the real service, in every format the system's data map covers. */
  seed: (p: ContractPerson) => Promise<void>;
  /** A connector whose traffic goes through a cut fault proxy (or an unreachable endpoint) — must fail retryably. */
  unreachable?: () => Promise<{ connector: Connector; restore: () => Promise<void> | void }>;
  /** Items the data map retains (legal obligation) per seeded person, which erase must keep and report. */
  retainedPerPerson?: number;
}

const total = (xs: { count: number }[]) => xs.reduce((n, x) => n + x.count, 0);

/**
 * The shared contract every connector passes: locate finds what was seeded, export returns it, erase removes
 * it (except retained items) and leaves everyone else alone, verify reads back zero, erasing twice is harmless,
 * and an unreachable system fails with a retryable error rather than a permanent one or a success.
 */
export function connectorContract(f: ContractFixture): void {
  it('locates and exports what it holds about a person', async () => {
    const c = f.connector();
    const p = contractPerson();
    await f.seed(p);
    expect(total(await c.locate(p.ids))).toBeGreaterThan(0);
    const exported = await c.export(p.ids);
    expect(exported.flatMap((e) => e.records).length).toBeGreaterThan(0);
    await c.close();
  });

  it('erases one person in every identity format, verifies zero left, keeps the others, and is idempotent', async () => {
    const c = f.connector();
    const [p, other] = [contractPerson(), contractPerson()];
    await f.seed(p);
    await f.seed(other);
    const otherBefore = total(await c.locate(other.ids));
    const first = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(
      first.filter((o) => o.action === 'deleted' || o.action === 'masked').reduce((n, o) => n + o.count, 0),
    ).toBeGreaterThan(0);
    expect(total(await c.verify(p.ids))).toBe(0);
    const retained = first.filter((o) => o.action === 'retained').reduce((n, o) => n + o.count, 0);
    expect(retained).toBe(f.retainedPerPerson ?? 0);
    const second = await c.erase(p.ids, { requestId: crypto.randomUUID() });
    expect(
      second.filter((o) => o.action === 'deleted' || o.action === 'masked').reduce((n, o) => n + o.count, 0),
    ).toBe(0);
    expect(total(await c.verify(p.ids))).toBe(0);
    expect(total(await c.locate(other.ids))).toBe(otherBefore);
    // Outcomes name places and counts, never the person's identifiers.
    const text = JSON.stringify([first, second]);
    for (const v of [p.digits, p.bsuid]) expect(text).not.toContain(v);
    await c.close();
  });

  it('reports reachability in its check', async () => {
    const c = f.connector();
    const report = await c.check();
    expect(report.reachable).toBe(true);
    await c.close();
  });

  if (f.unreachable) {
    it('fails retryably while the system is unreachable and works once it is back', async () => {
      const p = contractPerson();
      await f.seed(p);
      const { connector, restore } = await f.unreachable!();
      const err = await connector.erase(p.ids, { requestId: crypto.randomUUID() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RetryableError);
      expect(err).not.toBeInstanceOf(PermanentError);
      await restore();
      await connector.erase(p.ids, { requestId: crypto.randomUUID() });
      expect(total(await connector.verify(p.ids))).toBe(0);
      await connector.close();
    });
  }
}
