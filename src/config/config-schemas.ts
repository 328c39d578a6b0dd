import net from 'node:net';
import { z } from 'zod';
import { logFileSchema, retentionSchema } from './retention.js';

/**
 * What each setting may be, as zod schemas: the environment's variables, the YAML file's keys and a tenant's
 * settings. config.ts reads the two sources and combines them into a `Config`.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const base64Key32 = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(v), {
    message: 'must be 32 bytes, base64-encoded (generate one with: openssl rand -base64 32)',
  });

const port = z.coerce.number().int().min(0).max(65535);
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

export const forwardTargetSchema = z.object({
  url: httpUrl,
  secret: z.string().min(16, 'must be at least 16 characters'),
});

const DEFAULT_DELETION_NOTICE = 'Deleting your data ends any active subscription or booking with us.';

export const tenantSettingsSchema = z.object({
  /** Keep message text/captions (encrypted). Off by default: flowguard keeps metadata only. */
  storeMessageContent: z.boolean().default(false),
  /**
   * Download each inbound media file from the Graph API and keep it, encrypted under the sender's data key, in
   * the media store (FLOWGUARD_DATA_DIR/media). Off by default: flowguard keeps an encrypted reference only.
   */
  storeMedia: z.boolean().default(false),
  /** Regimes whose deadlines apply to this tenant's requests; the strictest wins. */
  regimes: z
    .array(z.enum(['gdpr', 'ccpa']))
    .min(1)
    .default(['gdpr']),
  /** Downstream systems that receive every verified webhook event (pass-through). */
  forward: z.array(forwardTargetSchema).default([]),
  /**
   * Count people who come back after a full erasure (the seed's re-engagement metric). Needs a keyed hash of
   * each erased identity kept for `windowDays`, so it is off unless the tenant turns it on.
   */
  reengagement: z
    .object({ enabled: z.boolean().default(false), windowDays: z.number().int().min(1).max(365).default(90) })
    .default({ enabled: false, windowDays: 90 }),
  /** Texts of the Privacy Center Flow; `deletion` is the service-impact notice shown before a deletion. */
  privacyNotice: z
    .object({ deletion: z.string().trim().min(1).max(4096).default(DEFAULT_DELETION_NOTICE) })
    .strict()
    .default({ deletion: DEFAULT_DELETION_NOTICE }),
});
export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** `none`, or addresses, CIDR ranges and the names loopback / linklocal / uniquelocal, comma-separated. */
const trustedProxies = z
  .string()
  .transform((v) => v.split(',').map((p) => p.trim()))
  .refine(
    (list) =>
      (list.length === 1 && list[0] === 'none') ||
      list.every((p) => {
        if (PROXY_RANGES.has(p)) return true;
        const [addr, bits, ...rest] = p.split('/');
        const family = net.isIP(addr ?? '');
        if (!family || rest.length > 0) return false;
        if (bits === undefined) return true;
        const n = Number(bits);
        return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
      }),
    {
      message: "must be 'none' or addresses, CIDR ranges, loopback, linklocal, uniquelocal, comma-separated",
    },
  )
  .transform((list): string[] | false => (list[0] === 'none' ? false : list));

export const fileSchema = z
  .object({
    server: z
      .object({
        port: port.optional(),
        host: z.string().min(1).optional(),
        publicUrl: httpUrl.optional(),
        trustedProxies: trustedProxies.optional(),
        tls: z
          .object({
            certFile: z.string().min(1),
            keyFile: z.string().min(1),
            clientCaFile: z.string().min(1).optional(),
          })
          .optional(),
      })
      .strict()
      .default({}),
    tenant: tenantSettingsSchema.partial().strict().default({}),
    flowTokens: z
      .object({
        ttlSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 86400),
      })
      .partial()
      .strict()
      .default({}),
    logLevel: z.enum(LOG_LEVELS).optional(),
    systems: z.array(z.unknown()).default([]),
    /**
     * Retry policy and expiry per queue (e.g. connector.run), overriding the defaults in src/jobs/catalog.ts,
     * and `maintenanceIntervalSeconds`: how often a worker process looks for jobs whose worker died (an active
     * job past its expiry is failed and retried by a live worker).
     */
    queues: z
      .object({ maintenanceIntervalSeconds: z.number().int().min(1).max(3600).optional() })
      .catchall(
        z
          .object({
            retryLimit: z.number().int().min(0).max(50).optional(),
            retryDelaySeconds: z.number().int().min(1).max(86_400).optional(),
            // pg-boss refuses 24 h or more; a worker also gives up on a job it has run this long.
            expireInSeconds: z.number().int().min(1).max(43_200).optional(),
          })
          .strict(),
      )
      .superRefine((queues, ctx) => {
        for (const name of Object.keys(queues)) {
          if (name !== 'maintenanceIntervalSeconds' && !/^[a-z][a-z.]{1,40}$/.test(name))
            ctx.addIssue({ code: 'custom', path: [name], message: 'is not a queue name' });
        }
      })
      .default({}),
    alerts: z
      .object({
        /** Slack-compatible incoming webhook (JSON {text}); alerts never carry personal data. */
        webhookUrl: httpUrl.optional(),
        /** Warn this many days before a request's due date. */
        deadlineWarningDays: z.number().int().min(1).max(30).default(3),
        /** How often the data map is checked end to end (cron, UTC). */
        selfCheckCron: z.string().min(9).max(100).default('17 3 * * *'),
      })
      .strict()
      .default({ deadlineWarningDays: 3, selfCheckCron: '17 3 * * *' }),
    /** Retention periods per category and the sweeper's pace (src/config/retention.ts, README "Retention"). */
    retention: retentionSchema.default(retentionSchema.parse({})),
    /** flowguard's own JSON log file, rotated and expired (FLOWGUARD_LOG_FILE sets the path). */
    logFile: logFileSchema.partial().strict().optional(),
  })
  .strict();

export const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' }).optional(),
  FLOWGUARD_DATA_DIR: z.string().min(1).default('./.flowguard'),
  FLOWGUARD_MASTER_KEY: base64Key32.optional(),
  /** Older master key(s), comma-separated, accepted for reading until `keys rotate` has re-wrapped everything. */
  FLOWGUARD_MASTER_KEY_PREVIOUS: z
    .string()
    .refine((v) => v.split(',').every((k) => base64Key32.safeParse(k.trim()).success), {
      message: 'must be one or more 32-byte base64 keys, comma-separated',
    })
    .optional(),
  /** A separate PostgreSQL database for the key store (subject keys and the erasure journal). */
  FLOWGUARD_KEYSTORE_URL: z
    .url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' })
    .optional(),
  FLOWGUARD_CONFIG: z.string().min(1).optional(),
  FLOWGUARD_LOG_LEVEL: z.enum(LOG_LEVELS).optional(),
  FLOWGUARD_LOG_FILE: z.string().min(1).optional(),
  FLOWGUARD_PUBLIC_URL: httpUrl.optional(),
  PORT: port.optional(),
  HOST: z.string().min(1).optional(),
  /** Proxies whose X-Forwarded-For is believed (the client address for sign-in throttling and audit). */
  FLOWGUARD_TRUSTED_PROXIES: trustedProxies.optional(),
  /** Named prepared statements (both stores); off behind a transaction-mode pooler without their support. */
  FLOWGUARD_DB_PREPARED_STATEMENTS: z
    .enum(['true', 'false'], { message: 'must be true or false' })
    .transform((v) => v === 'true')
    .optional(),
  WHATSAPP_APP_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
  WHATSAPP_VERIFY_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  WHATSAPP_PHONE_NUMBER_ID: z
    .string()
    .regex(/^\d{1,32}$/, 'must be the numeric phone number id from Meta')
    .optional(),
  WHATSAPP_BUSINESS_ACCOUNT_ID: z
    .string()
    .regex(/^\d{1,32}$/, 'must be numeric')
    .optional(),
  WHATSAPP_ACCESS_TOKEN: z.string().min(1).optional(),
  WHATSAPP_GRAPH_URL: httpUrl.default('https://graph.facebook.com/v23.0'),
  FLOWS_PRIVATE_KEY: z.string().min(1).optional(),
  FLOWS_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  FLOWS_PRIVATE_KEY_PASSPHRASE: z.string().min(1).optional(),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
});
