import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { dataMapPath, dataMapSchema, type SystemSpec } from './datamap.js';
import { logFileSchema, retentionSchema, type LogFileConfig, type RetentionConfig } from './retention.js';

/**
 * The one place flowguard reads its environment. Everything else receives a typed `Config`.
 * A bad or missing setting throws `ConfigError` naming the setting, never its value.
 */

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`invalid configuration: ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

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

export const DEFAULT_DELETION_NOTICE = 'Deleting your data ends any active subscription or booking with us.';

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

const fileSchema = z
  .object({
    server: z
      .object({
        port: port.optional(),
        host: z.string().min(1).optional(),
        publicUrl: httpUrl.optional(),
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
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
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

const envSchema = z.object({
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
  FLOWGUARD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  FLOWGUARD_LOG_FILE: z.string().min(1).optional(),
  FLOWGUARD_PUBLIC_URL: httpUrl.optional(),
  PORT: port.optional(),
  HOST: z.string().min(1).optional(),
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

export interface QueueOverride {
  retryLimit?: number | undefined;
  retryDelaySeconds?: number | undefined;
  expireInSeconds?: number | undefined;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  masterKey: Buffer | undefined;
  /** FLOWGUARD_MASTER_KEY_PREVIOUS: older master keys, for reading during a rotation. */
  previousMasterKeys: Buffer[];
  /** FLOWGUARD_KEYSTORE_URL: the key store's own database (unset: the data dir, or the main database). */
  keyStoreUrl: string | undefined;
  logLevel: LogLevel;
  server: {
    port: number;
    host: string;
    publicUrl: string | undefined;
    tls: { certFile: string; keyFile: string; clientCaFile: string | undefined } | undefined;
  };
  graphUrl: string;
  flowTokenTtlSeconds: number;
  /** The default tenant as far as the environment describes it; missing pieces are generated at start-up. */
  defaultTenant: {
    appSecret: string | undefined;
    verifyToken: string | undefined;
    phoneNumberId: string | undefined;
    businessAccountId: string | undefined;
    accessToken: string | undefined;
    flowsPrivateKeyPem: string | undefined;
    flowsPrivateKeyPassphrase: string | undefined;
    settings: TenantSettings;
  };
  /** The data map: every other system that holds people's data. */
  systems: SystemSpec[];
  alerts: { webhookUrl: string | undefined; deadlineWarningDays: number; selfCheckCron: string };
  queues: Record<string, QueueOverride>;
  /** How often pg-boss maintenance runs (expiry of jobs whose worker died); pg-boss' default when unset. */
  queueMaintenanceIntervalSeconds: number | undefined;
  retention: RetentionConfig;
  /** flowguard's own log file (absolute path), when enabled. */
  logFile: LogFileConfig | undefined;
  configFile: string | undefined;
}

type Env = Record<string, string | undefined>;

function firstIssue(error: z.ZodError, prefix: string[] = []): ConfigError {
  const issue = error.issues[0];
  const where = [...prefix, ...(issue?.path ?? []).map(String)].join('.') || '(root)';
  return new ConfigError(where, issue?.message ?? 'invalid');
}

/** Replace `${NAME}` in every string of a parsed YAML document; an unset variable is an error. */
export function interpolateEnv(value: unknown, env: Env, at: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined)
        throw new ConfigError(at.join('.') || '(root)', `refers to unset variable ${name}`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...at, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...at, k])]));
  }
  return value;
}

function readConfigFile(env: Env, cwd: string): { file: string | undefined; doc: unknown } {
  const explicit = env.FLOWGUARD_CONFIG;
  const file = explicit ? path.resolve(cwd, explicit) : path.resolve(cwd, 'flowguard.yaml');
  if (!fs.existsSync(file)) {
    if (explicit) throw new ConfigError('FLOWGUARD_CONFIG', 'file does not exist');
    return { file: undefined, doc: {} };
  }
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ConfigError('FLOWGUARD_CONFIG', `not valid YAML${line ? ` (line ${line})` : ''}`);
  }
  return { file, doc: interpolateEnv(doc, env) };
}

function readPrivateKey(env: z.infer<typeof envSchema>, cwd: string): string | undefined {
  if (env.FLOWS_PRIVATE_KEY && env.FLOWS_PRIVATE_KEY_FILE) {
    throw new ConfigError(
      'FLOWS_PRIVATE_KEY_FILE',
      'set either FLOWS_PRIVATE_KEY or FLOWS_PRIVATE_KEY_FILE, not both',
    );
  }
  if (env.FLOWS_PRIVATE_KEY) return env.FLOWS_PRIVATE_KEY.replace(/\\n/g, '\n');
  if (env.FLOWS_PRIVATE_KEY_FILE) {
    try {
      return fs.readFileSync(path.resolve(cwd, env.FLOWS_PRIVATE_KEY_FILE), 'utf8');
    } catch {
      throw new ConfigError('FLOWS_PRIVATE_KEY_FILE', 'cannot be read');
    }
  }
  return undefined;
}

function readLogFile(
  envPath: string | undefined,
  yaml: Partial<LogFileConfig> | undefined,
  cwd: string,
): LogFileConfig | undefined {
  const file = envPath ?? yaml?.path;
  if (!file) return undefined;
  const parsed = logFileSchema.safeParse({ ...yaml, path: path.resolve(cwd, file) });
  if (!parsed.success) throw firstIssue(parsed.error, ['FLOWGUARD_CONFIG', 'logFile']);
  return parsed.data;
}

/** Same server and database name (credentials and options aside). */
function sameDatabase(a: string, b: string): boolean {
  const key = (u: string) => {
    const url = new URL(u);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  };
  return key(a) === key(b);
}

export function loadConfig(rawEnv: Env = process.env, cwd = process.cwd()): Config {
  // Treat empty strings as unset, as shells and .env files commonly produce them.
  const cleaned: Env = Object.fromEntries(
    Object.entries(rawEnv).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsedEnv = envSchema.safeParse(cleaned);
  if (!parsedEnv.success) throw firstIssue(parsedEnv.error);
  const env = parsedEnv.data;

  const { file, doc } = readConfigFile(cleaned, cwd);
  const parsedFile = fileSchema.safeParse(doc);
  if (!parsedFile.success) throw firstIssue(parsedFile.error, ['FLOWGUARD_CONFIG']);
  const yaml = parsedFile.data;

  if (env.DATABASE_URL && !env.FLOWGUARD_MASTER_KEY) {
    throw new ConfigError('FLOWGUARD_MASTER_KEY', 'is required when DATABASE_URL is set');
  }
  if (env.FLOWGUARD_MASTER_KEY_PREVIOUS && !env.FLOWGUARD_MASTER_KEY) {
    throw new ConfigError(
      'FLOWGUARD_MASTER_KEY_PREVIOUS',
      'needs FLOWGUARD_MASTER_KEY (the new key) set too',
    );
  }
  if (
    env.FLOWGUARD_KEYSTORE_URL &&
    env.DATABASE_URL &&
    sameDatabase(env.FLOWGUARD_KEYSTORE_URL, env.DATABASE_URL)
  ) {
    throw new ConfigError('FLOWGUARD_KEYSTORE_URL', 'must name a different database than DATABASE_URL');
  }
  const tlsCert = env.TLS_CERT_FILE ?? yaml.server.tls?.certFile;
  const tlsKey = env.TLS_KEY_FILE ?? yaml.server.tls?.keyFile;
  if (Boolean(tlsCert) !== Boolean(tlsKey)) {
    throw new ConfigError(
      tlsCert ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE',
      'TLS needs both TLS_CERT_FILE and TLS_KEY_FILE',
    );
  }
  const clientCa = env.TLS_CLIENT_CA_FILE ?? yaml.server.tls?.clientCaFile;
  if (clientCa && !tlsCert)
    throw new ConfigError('TLS_CLIENT_CA_FILE', 'needs TLS_CERT_FILE and TLS_KEY_FILE');

  const settings = tenantSettingsSchema.parse(yaml.tenant);
  const systems = dataMapSchema.safeParse(yaml.systems);
  if (!systems.success) {
    const issue = systems.error.issues[0];
    throw new ConfigError(
      `FLOWGUARD_CONFIG.${dataMapPath(yaml.systems, issue?.path ?? [])}`,
      issue?.message ?? 'invalid',
    );
  }
  const { maintenanceIntervalSeconds, ...queueOverrides } = yaml.queues;
  return {
    databaseUrl: env.DATABASE_URL,
    dataDir: path.resolve(cwd, env.FLOWGUARD_DATA_DIR),
    masterKey: env.FLOWGUARD_MASTER_KEY ? Buffer.from(env.FLOWGUARD_MASTER_KEY, 'base64') : undefined,
    previousMasterKeys: (env.FLOWGUARD_MASTER_KEY_PREVIOUS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .map((k) => Buffer.from(k, 'base64')),
    keyStoreUrl: env.FLOWGUARD_KEYSTORE_URL,
    logLevel: env.FLOWGUARD_LOG_LEVEL ?? yaml.logLevel ?? 'info',
    server: {
      port: env.PORT ?? yaml.server.port ?? 8080,
      host: env.HOST ?? yaml.server.host ?? '127.0.0.1',
      publicUrl: env.FLOWGUARD_PUBLIC_URL ?? yaml.server.publicUrl,
      tls: tlsCert && tlsKey ? { certFile: tlsCert, keyFile: tlsKey, clientCaFile: clientCa } : undefined,
    },
    graphUrl: env.WHATSAPP_GRAPH_URL.replace(/\/+$/, ''),
    flowTokenTtlSeconds: yaml.flowTokens.ttlSeconds ?? 24 * 3600,
    defaultTenant: {
      appSecret: env.WHATSAPP_APP_SECRET,
      verifyToken: env.WHATSAPP_VERIFY_TOKEN,
      phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID,
      businessAccountId: env.WHATSAPP_BUSINESS_ACCOUNT_ID,
      accessToken: env.WHATSAPP_ACCESS_TOKEN,
      flowsPrivateKeyPem: readPrivateKey(env, cwd),
      flowsPrivateKeyPassphrase: env.FLOWS_PRIVATE_KEY_PASSPHRASE,
      settings,
    },
    systems: systems.data,
    queues: queueOverrides,
    queueMaintenanceIntervalSeconds: maintenanceIntervalSeconds,
    alerts: {
      webhookUrl: yaml.alerts.webhookUrl,
      deadlineWarningDays: yaml.alerts.deadlineWarningDays,
      selfCheckCron: yaml.alerts.selfCheckCron,
    },
    retention: yaml.retention,
    logFile: readLogFile(env.FLOWGUARD_LOG_FILE, yaml.logFile, cwd),
    configFile: file,
  };
}
