import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/lib/log.js';
import { runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { createPgDatabase, LogCapture, storeKinds } from '../helpers/test-app.js';

const APP_SECRET = 'simulate-test-app-secret-0123';
const FIXED_PHONE = '+15550199' + String(crypto.randomInt(0, 10_000)).padStart(4, '0');

/** A port nothing listens on (taken from the OS, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-sim-'));
}

describe.each(storeKinds())('flowguard simulate against a running server (%s)', (kind) => {
  let dir: string;
  let env: Record<string, string | undefined>;
  let serve: ServeProcess;
  let pg: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  const played: { phone: string; requestId: string }[] = [];

  beforeAll(async () => {
    dir = tmp();
    pg = kind === 'postgres' ? await createPgDatabase() : undefined;
    env = {
      HOME: dir,
      FLOWGUARD_DATA_DIR: path.join(dir, '.flowguard'),
      WHATSAPP_APP_SECRET: APP_SECRET,
      FLOWGUARD_LOG_LEVEL: 'info',
      ...(pg
        ? { DATABASE_URL: pg.url, FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64') }
        : {}),
    };
    serve = await startServe(env, dir);
  });
  afterAll(async () => {
    await serve?.stop();
    await pg?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function simulate(extra: string[]) {
    const t0 = Date.now();
    const res = await runCli(['simulate', '--base-url', serve.baseUrl, ...extra], env, { cwd: dir });
    const ms = Date.now() - t0;
    expect(res.stderr, res.stdout).toBe('');
    expect(res.code).toBe(0);
    for (let i = 1; i <= 9; i++) expect(res.stdout).toContain(`[${i}/9]`);
    for (const text of [
      'two text messages',
      'Flow completion',
      'flow token',
      'health check: active',
      'PRIVACY_HOME says: We hold 3 messages, 1 form response',
      'CONFIRM_DELETE offers: all',
      'SUCCESS: request',
      'erasure completed (channel flow, verified by flow_token)',
      'the store has no subject for this number any more',
      'a fresh Privacy Center session shows: We hold 0 messages, 0 form responses, 0 media files',
      'Simulation complete',
    ]) {
      expect(res.stdout).toContain(text);
    }
    expect(res.stdout).not.toContain(APP_SECRET);
    const phone = /simulated person: [^,]+, (\+\d+)/.exec(res.stdout)?.[1];
    const requestId = /SUCCESS: request ([0-9a-f-]{36})/.exec(res.stdout)?.[1];
    expect(phone).toMatch(/^\+1555\d{6,8}$/);
    played.push({ phone: phone!, requestId: requestId! });
    console.info(`simulate (${kind}) ran in ${ms} ms`);
    return { ...res, phone: phone! };
  }

  it('plays a fake person end to end: webhooks, Flow completion, Privacy Center, erasure', async () => {
    const res = await simulate([]);
    expect(res.phone).toMatch(/^\+155501\d{6}$/);
  });

  it('plays a fixed fictional number with --phone, and refuses a number that is not fictional', async () => {
    const res = await simulate(['--phone', FIXED_PHONE]);
    expect(res.phone).toBe(FIXED_PHONE);
    const real = await runCli(['simulate', '--base-url', serve.baseUrl, '--phone', '+442071838750'], env, {
      cwd: dir,
    });
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('--phone must be a fictional +1555... number');
  });

  it('left none of the people’s data in the store, and no phone number in the server logs', async () => {
    if (kind === 'pglite') expect(await serve.stop('SIGTERM')).toBe(0); // free the embedded store
    const config = loadConfig(env, dir);
    const ctx = await createContext(config, { logger: createLogger('warn', new LogCapture()) });
    try {
      const db = ctx.database.db;
      const n = async (table: 'messages' | 'flow_responses' | 'media') =>
        Number(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<string>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      expect(await n('messages')).toBe(0);
      expect(await n('flow_responses')).toBe(0);
      expect(await n('media')).toBe(0);
      const named = await db
        .selectFrom('subjects')
        .select('id')
        .where('profile_name', 'is not', null)
        .execute();
      expect(named).toEqual([]);
      expect(played).toHaveLength(2);
      for (const p of played) {
        const request = await db
          .selectFrom('privacy_requests')
          .selectAll()
          .where('id', '=', p.requestId)
          .executeTakeFirstOrThrow();
        expect(request).toMatchObject({
          type: 'erasure',
          scope: 'all',
          channel: 'flow',
          status: 'completed',
        });
        const task = await db
          .selectFrom('request_tasks')
          .select('counts')
          .where('request_id', '=', p.requestId)
          .where('system_id', '=', 'flowguard')
          .executeTakeFirstOrThrow();
        // What was erased: the two texts and the completion message, the booking answers, the name.
        expect(task.counts).toMatchObject({ messages: 3, flow_responses: 1, profile_name: 1, data_key: 1 });
        expect(serve.stdout()).not.toContain(p.phone.slice(1));
      }
    } finally {
      await ctx.close();
    }
  });
});

describe('flowguard simulate without a server', () => {
  it('exits non-zero with a clear message when the server is not reachable', async () => {
    const dir = tmp();
    const port = await freePort();
    try {
      const url = `http://127.0.0.1:${port}`;
      const res = await runCli(['simulate', '--base-url', url], { HOME: dir }, { cwd: dir });
      expect(res.code).toBe(1);
      expect(res.stdout).toContain(`[1/9] Checking flowguard at ${url}`);
      expect(res.stderr).toContain(`cannot reach flowguard at ${url} (ECONNREFUSED)`);
      expect(res.stderr).toContain('npm start');
      expect(res.stderr).not.toMatch(/\n\s+at /);
      const bad = await runCli(['simulate', '--base-url', 'not a url'], { HOME: dir }, { cwd: dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--base-url must be an http(s) URL');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
