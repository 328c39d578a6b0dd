import { z } from 'zod';

/** Response and parameter schemas shared by the admin routes. Responses hold ids, enums, times and counts. */

export const idParams = z.object({ id: z.uuid() });

const time = z.string();
const nullableTime = z.string().nullable();

export const requestSummary = z.object({
  id: z.string(),
  reference: z.string(),
  tenant: z.string(),
  type: z.string(),
  scope: z.string(),
  channel: z.string(),
  status: z.string(),
  received_at: time,
  due_at: time,
  overdue: z.boolean(),
  extended: z.boolean(),
  completed_at: nullableTime,
});

export const systemTask = z.object({
  id: z.string(),
  action: z.string(),
  status: z.string(),
  attempts: z.number(),
  counts: z.record(z.string(), z.number()),
  last_error: z.string().nullable(),
  completed_at: nullableTime,
});

export const timelineEvent = z.object({
  seq: z.number(),
  event_type: z.string(),
  occurred_at: time,
  actor_type: z.string(),
  data: z.record(z.string(), z.unknown()),
});

export const requestDetail = z.object({
  id: z.string(),
  reference: z.string(),
  tenant: z.string(),
  type: z.string(),
  scope: z.string(),
  channel: z.string(),
  status: z.string(),
  regime: z.string(),
  verification: z.string().nullable(),
  received_at: time,
  verified_at: nullableTime,
  due_at: time,
  overdue: z.boolean(),
  extended: z.boolean(),
  completed_at: nullableTime,
  error_code: z.string().nullable(),
  systems: z.array(systemTask),
  /** The request's audit events in order: its timeline across systems. */
  events: z.array(timelineEvent),
});

export const decision = z.object({ id: z.string(), reference: z.string(), status: z.string() });
