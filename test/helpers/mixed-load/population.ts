import crypto from 'node:crypto';
import type { Person } from '../webhook-payloads.js';

/**
 * The fake people of a mixed-load run and what flowguard promised each of them: the messages it acknowledged,
 * the erasure it accepted. A person is worked on by one client call sequence at a time (`busy`), so what
 * flowguard shows about them at any moment must match exactly what it acknowledged.
 */
export interface LoadPerson {
  person: Person;
  /** Wamids of the messages flowguard acknowledged (200, counted ingested). */
  acked: Set<string>;
  /** The last acknowledged delivery, to deliver again as Meta does when it retries. */
  lastDelivery?: { body: string; events: number };
  busy: boolean;
  /** The erasure flowguard accepted for this person (then nothing more is sent for them but re-deliveries). */
  erasure?: { requestId: string; via: 'flow' | 'api' };
  /** A flow token used for the erasure: it must be refused from then on. */
  usedToken?: string;
}

export class Population {
  readonly people: LoadPerson[] = [];
  /** People named only in refused deliveries: flowguard must hold nothing of them. */
  readonly strangers: Person[] = [];
  private next = crypto.randomInt(0, 5_000_000);

  /** +1 555 numbers (reserved for fiction), unique within the run. */
  private person(): Person {
    this.next = (this.next + 1) % 10_000_000;
    const digits = `1555${String(this.next).padStart(7, '0')}`;
    return {
      waId: digits,
      e164: `+${digits}`,
      name: `Loadperson ${crypto.randomBytes(3).toString('hex')}`,
      bsuid: `US.${crypto.randomBytes(10).toString('hex')}`,
    };
  }

  /** A new person of the run, busy until released. */
  create(): LoadPerson {
    const lp: LoadPerson = { person: this.person(), acked: new Set(), busy: true };
    this.people.push(lp);
    return lp;
  }

  stranger(): Person {
    const p = this.person();
    this.strangers.push(p);
    return p;
  }

  /** An idle person matching `want`, taken (busy) — or undefined when a few random draws find none. */
  take(want: (lp: LoadPerson) => boolean): LoadPerson | undefined {
    const n = this.people.length;
    for (let i = 0; i < 40 && n > 0; i++) {
      const lp = this.people[crypto.randomInt(0, n)]!;
      if (!lp.busy && want(lp)) {
        lp.busy = true;
        return lp;
      }
    }
    return undefined;
  }

  release(lp: LoadPerson): void {
    lp.busy = false;
  }

  get erased(): LoadPerson[] {
    return this.people.filter((lp) => lp.erasure);
  }
}

export const active = (lp: LoadPerson) => !lp.erasure;
export const known = (lp: LoadPerson) => !lp.erasure && lp.acked.size > 0;
