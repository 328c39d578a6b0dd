import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { buildServer } from '../../src/app/server.js';
import { createLogger } from '../../src/lib/log.js';
import { PG_ADMIN_URL } from './services.js';
import type { FastifyInstance } from 'fastify';

export type StoreKind = 'pglite' | 'postgres';

/** Store kinds this run can test: PGlite always; PostgreSQL when the machine has it (CI requires it). */
export function storeKinds(): StoreKind[] {
  return inject('services').postgres ? ['pglite', 'postgres'] : ['pglite'];
}

export function hasService(name: 'postgres' | 'mariadb' | 'redis'): boolean {
  return inject('services')[name];
}

/** A fresh, empty PostgreSQL database for one test file; dropped by the returned function. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `fg_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Log lines captured in memory so tests can prove no personal data reaches the logs. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    cb();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  kind: StoreKind;
  ctx: AppContext;
  app: FastifyInstance;
  config: Config;
  logs: LogCapture;
  dataDir: string;
  databaseUrl: string | undefined;
  close(): Promise<void>;
}

export const TEST_APP_SECRET = 'test-app-secret-0123456789';
export const TEST_VERIFY_TOKEN = 'test-verify-token-0123';
export const TEST_PHONE_NUMBER_ID = '100000000000001';

/**
 * The WhatsApp settings of the test number for a flowguard process's environment; with `graphUrl` (a fake
 * Graph API) also an access token, so notifications and media go there.
 */
export function testWhatsAppEnv(graphUrl?: string): Record<string, string> {
  return {
    WHATSAPP_APP_SECRET: TEST_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
    WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
    ...(graphUrl ? { WHATSAPP_ACCESS_TOKEN: 'test-access-token', WHATSAPP_GRAPH_URL: graphUrl } : {}),
  };
}

/**
 * A whole flowguard (context + HTTP server, not listening; drive it with app.inject) on a fresh store of the
 * given kind. `env` overrides the default single-tenant environment.
 */
export async function createTestApp(
  kind: StoreKind,
  env: Record<string, string | undefined> = {},
  opts: { clock?: () => Date; work?: boolean } = {},
): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-test-'));
  const pgdb = kind === 'postgres' ? await createPgDatabase() : undefined;
  const config = loadConfig(
    {
      FLOWGUARD_DATA_DIR: dataDir,
      FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
      DATABASE_URL: pgdb?.url,
      FLOWGUARD_CONFIG: undefined,
      WHATSAPP_APP_SECRET: TEST_APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
      FLOWGUARD_LOG_LEVEL: 'debug',
      ...env,
    },
    dataDir,
  );
  const logs = new LogCapture();
  const template = kind === 'pglite' ? new Blob([fs.readFileSync(inject('pgliteTemplate'))]) : undefined;
  const ctx = await createContext(config, {
    logger: createLogger('debug', logs),
    loadDataDir: template,
    clock: opts.clock,
    work: opts.work,
  });
  const app = await buildServer(ctx);
  return {
    kind,
    ctx,
    app,
    config,
    logs,
    dataDir,
    databaseUrl: pgdb?.url,
    async close() {
      await app.close();
      await ctx.close();
      await pgdb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Obviously fake people: +1 555 01xx numbers (reserved for fiction), generated per test. */
export function fakePerson(n = Math.floor(Math.random() * 90) + 10) {
  const suffix = String(crypto.randomInt(0, 10_000)).padStart(4, '0');
  const digits = `1555${String(n).padStart(2, '0')}${suffix}`.slice(0, 11);
  return {
    waId: digits,
    e164: `+${digits}`,
    name: `Testperson ${crypto.randomBytes(4).toString('hex')}`,
    bsuid: `US.${crypto.randomBytes(10).toString('hex')}`,
  };
}
