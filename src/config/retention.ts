import { z } from 'zod';

/**
 * Retention (GDPR Art. 5(1)(e) storage limitation): how long each category of flowguard's own data is kept,
 * request or no request, and how the sweeper works through it. Every period is in days. Minimums that the law
 * or the protocol imposes are enforced here, so a bad setting fails at start-up, naming the setting.
 */

/** The defaults, documented in the README's "Retention" table. */
export const RETENTION_DEFAULT_DAYS = {
  /** Flow answers (encrypted). */
  flow_responses: 180,
  /** Message metadata rows (content, when a tenant stores it, goes with the row or earlier). */
  messages: 90,
  /** Message text/captions of tenants that store content; cleared at once for tenants that no longer do. */
  message_content: 30,
  /** Media references: Meta's webhook media ids are only valid for 7 days anyway. */
  media: 30,
  /** Delivery statuses (sent/delivered/read/failed). */
  delivery_statuses: 30,
  /** Contacts not seen for this long are erased fully (keys shredded, opt-out suppressions kept). */
  inactive_contacts: 365,
  /** Webhook de-duplication ids: Meta retries deliveries for up to 7 days, so never less. */
  processed_events: 7,
  /** Flow tokens, counted from their expiry. */
  flow_tokens: 7,
  /** Pass-through deliveries that never went out (encrypted events). */
  pending_forwards: 30,
  /** Ended privacy requests and their tasks: at least 24 months (11 CCR 7101). */
  request_records: 730,
  /** Access-request exports, counted from their own expiry (`expires_at`). */
  request_exports: 0,
  /** Audit rows: 6 years by default; whole prefixes of the chain go, leaving a checkpoint. */
  audit_log: 6 * 365,
  /** Confirmation messages still waiting to be sent (sealed recipient). */
  outbound_notifications: 1,
  /** Records of alerts already sent (no personal data). */
  alerts_sent: 90,
  /** Admin sessions, counted from their absolute expiry (ended and idle ones are over by then at the latest). */
  admin_sessions: 7,
  /** Admin sign-in throttle counters whose window and lock ran out this long ago. */
  login_throttle: 1,
  /**
   * Erasure journal entries (the database's, once shredded, and the key store's), counted from the erasure: set
   * it to how long database backups are kept. `restore-replay` needs an entry for as long as a backup taken
   * before that erasure can still be restored.
   */
  erasure_journal: 35,
} as const;

export type RetentionCategory = keyof typeof RETENTION_DEFAULT_DAYS;
export const RETENTION_CATEGORIES = Object.keys(RETENTION_DEFAULT_DAYS) as RetentionCategory[];

/** Legal or protocol minimums: a shorter setting is refused. */
export const RETENTION_MIN_DAYS: Partial<Record<RetentionCategory, { days: number; why: string }>> = {
  processed_events: { days: 7, why: 'Meta retries webhook deliveries for up to 7 days' },
  request_records: { days: 730, why: 'request records are kept at least 24 months (11 CCR 7101)' },
  audit_log: { days: 730, why: 'the audit trail of requests is kept at least 24 months (11 CCR 7101)' },
  login_throttle: { days: 1, why: 'a shorter period would forget failures inside their 15-minute window' },
  erasure_journal: {
    days: 1,
    why: 'restore-replay needs the journal for as long as a database backup can be restored',
  },
};

const days = (category: RetentionCategory) => {
  const min = RETENTION_MIN_DAYS[category];
  return z
    .number()
    .int()
    .min(min?.days ?? 0, min ? `must be at least ${min.days} days: ${min.why}` : 'must not be negative')
    .max(36_500)
    .default(RETENTION_DEFAULT_DAYS[category]);
};

const daysShape = Object.fromEntries(RETENTION_CATEGORIES.map((c) => [c, days(c)])) as {
  [C in RetentionCategory]: ReturnType<typeof days>;
};

export const retentionSchema = z
  .object({
    /** When the sweeper runs (cron, UTC). Hourly by default. */
    cron: z.string().min(9).max(100).default('11 * * * *'),
    /** Rows per statement (and per short transaction). */
    batchSize: z.number().int().min(10).max(10_000).default(1000),
    /** Pause between batches, so ingestion always gets the database in between. */
    pauseMs: z.number().int().min(0).max(10_000).default(20),
    /** A run stops after this long and the next one carries on (no run holds on for hours). */
    maxRunMinutes: z.number().int().min(1).max(180).default(50),
    days: z
      .object(daysShape)
      .strict()
      .default(
        Object.fromEntries(RETENTION_CATEGORIES.map((c) => [c, RETENTION_DEFAULT_DAYS[c]])) as Record<
          RetentionCategory,
          number
        >,
      ),
  })
  .strict();

export type RetentionConfig = z.infer<typeof retentionSchema>;

export const DEFAULT_RETENTION: RetentionConfig = retentionSchema.parse({});

/** flowguard's own log file (optional). Logs that could hold personal data expire in 7-14 days. */
export const LOG_FILE_MAX_TTL_DAYS = 14;

export const logFileSchema = z
  .object({
    path: z.string().min(1),
    /** Rotate when the file would grow past this size. */
    maxSizeMb: z.number().positive().max(10_240).default(50),
    /** Rotated files older than this are deleted (at start-up, on rotation and by the retention sweeper). */
    ttlDays: z
      .number()
      .int()
      .min(1)
      .max(LOG_FILE_MAX_TTL_DAYS, `must be at most ${LOG_FILE_MAX_TTL_DAYS} days: logs expire in 7-14 days`)
      .default(LOG_FILE_MAX_TTL_DAYS),
  })
  .strict();

export type LogFileConfig = z.infer<typeof logFileSchema>;
