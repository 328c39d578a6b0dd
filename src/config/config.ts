import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  envSchema,
  fileSchema,
  tenantSettingsSchema,
  type LogLevel,
  type TenantSettings,
} from './config-schemas.js';
import { dataMapPath, dataMapSchema, type SystemSpec } from './datamap.js';
import { logFileSchema, type LogFileConfig, type RetentionConfig } from './retention.js';

export {
  forwardTargetSchema,
  tenantSettingsSchema,
  type LogLevel,
  type TenantSettings,
} from './config-schemas.js';

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

export interface QueueOverride {
  retryLimit?: number | undefined;
  retryDelaySeconds?: number | undefined;
  expireInSeconds?: number | undefined;
}

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  masterKey: Buffer | undefined;
  /** FLOWGUARD_MASTER_KEY_PREVIOUS: older master keys, for reading during a rotation. */
  previousMasterKeys: Buffer[];
  /** FLOWGUARD_KEYSTORE_URL: the key store's own database (unset: the data dir, or the main database). */
  keyStoreUrl: string | undefined;
  /** FLOWGUARD_DB_PREPARED_STATEMENTS: name repeated statements, on either store (default true). */
  dbPreparedStatements: boolean;
  logLevel: LogLevel;
  server: {
    port: number;
    host: string;
    publicUrl: string | undefined;
    /** Proxies whose X-Forwarded-For is believed; false: none (the peer address is the client). */
    trustedProxies: string[] | false;
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
    dbPreparedStatements: env.FLOWGUARD_DB_PREPARED_STATEMENTS ?? true,
    logLevel: env.FLOWGUARD_LOG_LEVEL ?? yaml.logLevel ?? 'info',
    server: {
      port: env.PORT ?? yaml.server.port ?? 8080,
      host: env.HOST ?? yaml.server.host ?? '127.0.0.1',
      publicUrl: env.FLOWGUARD_PUBLIC_URL ?? yaml.server.publicUrl,
      trustedProxies: env.FLOWGUARD_TRUSTED_PROXIES ??
        yaml.server.trustedProxies ?? ['loopback', 'linklocal', 'uniquelocal'],
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
