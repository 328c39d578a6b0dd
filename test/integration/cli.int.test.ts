import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { createPgDatabase, hasService } from '../helpers/test-app.js';

const exec = promisify(execFile);

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-cli-'));
}

describe('flowguard serve on a fresh machine (embedded store)', () => {
  let dir: string;
  let serve: ServeProcess;
  let startedIn = 0;
  beforeAll(async () => {
    dir = tmp();
    const t0 = Date.now();
    serve = await startServe({ HOME: dir }, dir);
    startedIn = Date.now() - t0;
  });
  afterAll(async () => {
    await serve?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts with no configuration, generates what it needs and prints where to point Meta', async () => {
    const out = serve.stderr();
    expect(out).toContain(`${serve.baseUrl}/webhooks/whatsapp`);
    expect(out).toContain(`${serve.baseUrl}/flows/endpoint`);
    expect(out).toMatch(/Verify token\s+\S{20,}/);
    expect(out).toContain('-----BEGIN PUBLIC KEY-----');
    expect(out).toContain('whatsapp_business_encryption');
    expect(fs.statSync(path.join(dir, '.flowguard', 'master.key')).mode & 0o777).toBe(0o600);
    expect(serve.stdout()).toContain('generated a master key');
    for (const line of serve.stdout().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    const ready = await fetch(`${serve.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    console.info(`serve on a fresh data dir was ready in ${startedIn} ms`);
  });

  it('runs store commands through the running server instead of failing on the locked store', async () => {
    const env = { TENANT_APP_SECRET: 'second-tenant-secret-0001' };
    const add = await runCli(['tenant', 'add', '--id', 'acme', '--phone-number-id', '200000000000002'], env, {
      cwd: dir,
    });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ id: 'acme' });
    const list = await runCli(['tenant', 'list'], {}, { cwd: dir });
    expect(list.code).toBe(0);
    const tenants = JSON.parse(list.stdout) as { id: string; default: boolean }[];
    expect(tenants.map((t) => t.id).sort()).toEqual(['acme', 'default']);
    expect(list.stdout).not.toContain('second-tenant-secret');
    const dup = await runCli(['tenant', 'add', '--id', 'acme', '--phone-number-id', '200000000000003'], env, {
      cwd: dir,
    });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/CONFLICT/);
    const migrate = await runCli(['migrate'], {}, { cwd: dir });
    expect(migrate.code).toBe(0);
    expect(JSON.parse(migrate.stdout)).toMatchObject({ applied: [] });
  });

  it('stops cleanly on SIGTERM and frees the store', async () => {
    const code = await serve.stop('SIGTERM');
    expect(code).toBe(0);
    expect(fs.existsSync(path.join(dir, '.flowguard', 'store.lock'))).toBe(false);
    const list = await runCli(['tenant', 'list'], {}, { cwd: dir });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(2);
  });
});

describe('configuration errors', () => {
  it('stop start-up with one line naming the setting and exit code 78', async () => {
    const dir = tmp();
    const err = await exec(process.execPath, [BIN, 'serve'], {
      cwd: dir,
      env: { PATH: process.env.PATH, PORT: 'eighty', WHATSAPP_APP_SECRET: 'do-not-print-me-123' },
    }).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect('code' in err && err.code).toBe(78);
    expect(err.stderr.trim().split('\n')).toEqual([
      'flowguard: invalid configuration: PORT: Invalid input: expected number, received NaN',
    ]);
    expect(err.stderr).not.toContain('do-not-print-me');
    const missingKey = await runCli(['migrate'], { DATABASE_URL: 'postgres://u@127.0.0.1/x' }, { cwd: dir });
    expect(missingKey.code).toBe(78);
    expect(missingKey.stderr).toContain('FLOWGUARD_MASTER_KEY');
  });
});

describe('keys generate', () => {
  it('writes an RSA-2048 pair (private 0600) and prints the public key with the upload call', async () => {
    const dir = tmp();
    const r = await runCli(
      ['keys', 'generate', '--out', 'keys'],
      { FLOWS_PRIVATE_KEY_PASSPHRASE: 'pass-phrase-1' },
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    const priv = fs.readFileSync(path.join(dir, 'keys', 'private.pem'), 'utf8');
    expect(priv).toContain('ENCRYPTED PRIVATE KEY');
    expect(fs.statSync(path.join(dir, 'keys', 'private.pem')).mode & 0o777).toBe(0o600);
    const key = crypto.createPrivateKey({ key: priv, passphrase: 'pass-phrase-1' });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const pub = crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
    expect(r.stdout.trim()).toBe(pub.trim());
    expect(r.stderr).toContain('whatsapp_business_encryption');
    const again = await runCli(['keys', 'generate', '--out', 'keys'], {}, { cwd: dir });
    expect(again.code).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'keys', 'private.pem'), 'utf8')).toBe(priv);
  });
});

describe.runIf(hasService('postgres'))('store commands on PostgreSQL', () => {
  it('migrate and tenant add/list work against DATABASE_URL', async () => {
    const pg = await createPgDatabase();
    const dir = tmp();
    try {
      const env = { DATABASE_URL: pg.url, FLOWGUARD_MASTER_KEY: crypto.randomBytes(32).toString('base64') };
      const m = await runCli(['migrate'], env, { cwd: dir });
      expect(m.code).toBe(0);
      expect(JSON.parse(m.stdout).current).toBe(JSON.parse(m.stdout).latest);
      const add = await runCli(
        ['tenant', 'add', '--id', 'shop-2', '--phone-number-id', '300000000000003'],
        {
          ...env,
          TENANT_APP_SECRET: 'shop-two-app-secret',
        },
        { cwd: dir },
      );
      expect(add.code).toBe(0);
      const list = await runCli(['tenant', 'list'], env, { cwd: dir });
      expect((JSON.parse(list.stdout) as { id: string }[]).map((t) => t.id).sort()).toEqual([
        'default',
        'shop-2',
      ]);
    } finally {
      await pg.drop();
    }
  });
});
