import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createContext, type AppContext } from '../../src/app/context.js';
import { buildServer } from '../../src/app/server.js';
import { loadConfig } from '../../src/config/config.js';
import { createAppLogger } from '../../src/lib/logs/app-logger.js';
import { rotatedLogFiles } from '../../src/lib/logs/expire-log-files.js';
import { runRetention } from '../../src/modules/retention/index.js';
import {
  createPgDatabase,
  fakePerson,
  LogCapture,
  storeKinds,
  TEST_APP_SECRET,
  TEST_PHONE_NUMBER_ID,
  TEST_VERIFY_TOKEN,
  type TestApp,
} from '../helpers/test-app.js';
import {
  contact,
  delivery,
  imageMessage,
  postWebhook,
  statusItem,
  textMessage,
} from '../helpers/webhook-payloads.js';

const DAY = 86_400_000;

/**
 * flowguard's own log file: the same scrubbed JSON lines as stdout, rotated by size (and day), expired after
 * ttlDays at start-up and by the retention sweeper, and free of phone numbers, BSUIDs and names after an ingest.
 */
describe.each(storeKinds())('the log file sink on %s', (kind) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-logsink-'));
  const logPath = path.join(dir, 'logs', 'flowguard.log');
  let ctx: AppContext;
  let app: FastifyInstance;
  let drop: (() => Promise<void>) | undefined;
  const stdout = new LogCapture();
  const old = (name: string, ageDays: number) => {
    const file = path.join(path.dirname(logPath), name);
    fs.writeFileSync(file, '{"msg":"old"}\n');
    const t = new Date(Date.now() - ageDays * DAY);
    fs.utimesSync(file, t, t);
  };

  beforeAll(async () => {
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    old('flowguard.log.2020-01-01', 20);
    old('flowguard.log.2020-01-09.1', 15);
    old('flowguard.log.2020-01-20', 3);
    const pg = kind === 'postgres' ? await createPgDatabase() : undefined;
    drop = pg?.drop;
    fs.writeFileSync(path.join(dir, 'flowguard.yaml'), 'logFile:\n  maxSizeMb: 0.001\n  ttlDays: 14\n');
    const config = loadConfig(
      {
        FLOWGUARD_DATA_DIR: path.join(dir, 'data'),
        FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
        DATABASE_URL: pg?.url,
        FLOWGUARD_CONFIG: path.join(dir, 'flowguard.yaml'),
        FLOWGUARD_LOG_FILE: logPath,
        FLOWGUARD_LOG_LEVEL: 'debug',
        WHATSAPP_APP_SECRET: TEST_APP_SECRET,
        WHATSAPP_VERIFY_TOKEN: TEST_VERIFY_TOKEN,
        WHATSAPP_PHONE_NUMBER_ID: TEST_PHONE_NUMBER_ID,
      },
      dir,
    );
    const logger = createAppLogger(config, { stdout });
    const template = kind === 'pglite' ? new Blob([fs.readFileSync(inject('pgliteTemplate'))]) : undefined;
    ctx = await createContext(config, { logger: logger.logger, loadDataDir: template });
    const close = ctx.close.bind(ctx);
    ctx.close = async () => {
      await close();
      logger.close();
    };
    app = await buildServer(ctx);
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fileNames = () => rotatedLogFiles(logPath).map((f) => path.basename(f));

  it('deletes rotated files older than ttlDays at start-up', () => {
    expect(fileNames()).toEqual(['flowguard.log.2020-01-20']);
  });

  it('writes ingest logs without phone numbers, BSUIDs or names, rotating by size', async () => {
    const t = { app } as TestApp;
    const people = Array.from({ length: 6 }, () => fakePerson());
    for (const p of people) {
      for (let i = 0; i < 5; i++) {
        const res = await postWebhook(
          t,
          delivery({
            contacts: [contact(p, { phone: true, bsuid: true })],
            messages: [
              textMessage(
                p,
                `call me on ${p.e164} or ${p.waId.slice(0, 1)} ${p.waId.slice(1, 4)} ${p.waId.slice(4)}`,
              ),
              imageMessage(p, { id: '9000001', caption: `${p.name} ${p.bsuid}` }),
            ],
            statuses: [statusItem(p, 'delivered')],
          }),
        );
        expect(res.statusCode).toBe(200);
      }
      // Refused deliveries log too: a bad signature and a body that is not an envelope.
      await postWebhook(t, delivery({ contacts: [contact(p)], messages: [textMessage(p, p.e164)] }), {
        signature: 'sha256=00',
      });
      await postWebhook(t, { object: 'page', from: p.waId, user_id: p.bsuid, note: `for ${p.e164}` });
    }
    const files = [logPath, ...rotatedLogFiles(logPath)];
    const text = files.map((f) => fs.readFileSync(f, 'utf8')).join('');
    const lines = text.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    expect(text).toContain('webhook signature rejected');
    // Every line of the file is a line of stdout: one logger, two destinations.
    const stdoutLines = new Set(stdout.lines);
    expect(lines.filter((l) => l !== '{"msg":"old"}' && !stdoutLines.has(l))).toEqual([]);
    for (const p of people) {
      for (const needle of [p.waId, p.waId.slice(1), p.waId.slice(4), p.bsuid, p.bsuid.slice(3), p.name])
        expect(text).not.toContain(needle);
    }
    // Rotated by size: several files of today, each at most ~1 KiB.
    const today = new Date().toISOString().slice(0, 10);
    expect(fileNames().filter((n) => n.startsWith(`flowguard.log.${today}`)).length).toBeGreaterThan(1);
    for (const f of rotatedLogFiles(logPath).filter((n) => n.includes(today)))
      expect(fs.statSync(f).size).toBeLessThanOrEqual(Math.floor(0.001 * 1024 * 1024));
  });

  it('lets the retention sweeper delete rotated files that expired since start-up', async () => {
    old('flowguard.log.2020-01-02', 16);
    const dry = await runRetention(ctx, { dryRun: true });
    expect(dry.categories.log_files).toEqual({ expired: 1, deleted: 0 });
    const run = await runRetention(ctx);
    expect(run.categories.log_files).toEqual({ expired: 1, deleted: 1 });
    expect(fileNames()).not.toContain('flowguard.log.2020-01-02');
    expect(fileNames()).toContain('flowguard.log.2020-01-20');
  });
});
