import type { z } from 'zod';
import type { Rejection, WebhookEvent } from './webhook.schemas.js';

/**
 * What the webhook parsers share: the collector of events and rejections (reason and JSON path only, never a
 * payload value), the context of the change an item is read from, and small helpers.
 */

const MAX_REJECTED = 200;

export class Collector {
  readonly events: WebhookEvent[] = [];
  private readonly rejected: Rejection[] = [];
  private omitted = 0;

  constructor(private readonly withSource: boolean) {}

  /** Runs `fn` and, when sources are wanted, marks the events it produced as read from `item`. */
  sourced(change: string, metadata: unknown, item: unknown, fn: () => void): void {
    const before = this.events.length;
    fn();
    if (!this.withSource) return;
    for (let i = before; i < this.events.length; i++) {
      const event = this.events[i];
      if (event && event.source === undefined) event.source = { change, metadata, item };
    }
  }

  reject(reason: string, path: string): void {
    if (this.rejected.length < MAX_REJECTED) this.rejected.push({ reason, path });
    else this.omitted += 1;
  }

  rejectIssues(what: string, error: z.ZodError, path: string): void {
    const issue = error.issues[0];
    if (!issue) return this.reject(`${what}: invalid`, path);
    this.reject(`${what}: ${describeIssue(issue)}`, joinPath(path, issue.path));
  }

  /** Runs one item's parsing; an unexpected throw rejects that item only. */
  guard(path: string, fn: () => void): void {
    try {
      fn();
    } catch {
      this.reject('internal error while parsing item', path);
    }
  }

  result(): Rejection[] {
    if (this.omitted === 0) return this.rejected;
    return [...this.rejected, { reason: `${this.omitted} further rejections omitted`, path: '' }];
  }
}

/** One change's value being read: where its items come from, for events, rejections and sources. */
export interface ChangeCtx<P extends string | undefined = string | undefined> {
  out: Collector;
  wabaId: string;
  phoneNumberId: P;
  path: string;
  /** Path of the change and its raw metadata, for event sources. */
  change: string;
  metadata: unknown;
}

/** Issue text built from the issue code only: zod messages are not reused (some could quote keys). */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'custom':
      return issue.message;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_big':
      return `too long (max ${String(issue.maximum)})`;
    case 'too_small':
      return 'too short';
    case 'invalid_format':
      return issue.message.startsWith('not ') ? issue.message : 'invalid format';
    case 'invalid_value':
      return 'unexpected value';
    case 'invalid_union':
      return 'no accepted shape';
    default:
      return issue.code;
  }
}

function joinPath(base: string, segments: readonly PropertyKey[]): string {
  let path = base;
  for (const s of segments) {
    if (typeof s === 'number') path += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(s)) path += `.${s}`;
    else path += '[?]';
  }
  return path;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Drops keys whose value is `undefined` so events carry no empty optional fields. */
export function compact<T extends object>(obj: T): T {
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) result[k] = v;
  return result as T;
}
