import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const key = () => crypto.randomBytes(32).toString('base64');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-config-'));
}

function expectConfigError(fn: () => unknown, setting: string): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe(setting);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('starts with no configuration at all: embedded store in ./.flowguard on 127.0.0.1:8080', () => {
    const cwd = tmpDir();
    const c = loadConfig({}, cwd);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe(path.join(cwd, '.flowguard'));
    expect(c.server).toMatchObject({ port: 8080, host: '127.0.0.1' });
    expect(c.defaultTenant.settings).toMatchObject({
      storeMessageContent: false,
      regimes: ['gdpr'],
      forward: [],
    });
    expect(c.graphUrl).toMatch(/^https:\/\/graph\.facebook\.com\/v\d+\.\d+$/);
  });

  it('requires a master key with DATABASE_URL and names the setting', () => {
    expectConfigError(
      () => loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' }, tmpDir()),
      'FLOWGUARD_MASTER_KEY',
    );
    const c = loadConfig(
      { DATABASE_URL: 'postgres://x@127.0.0.1/db', FLOWGUARD_MASTER_KEY: key() },
      tmpDir(),
    );
    expect(c.masterKey?.length).toBe(32);
  });

  it('rejects a bad setting with one line that names it and never prints its value', () => {
    const secretish = 'c2hvcnQ=';
    const err = expectConfigError(
      () => loadConfig({ FLOWGUARD_MASTER_KEY: secretish }, tmpDir()),
      'FLOWGUARD_MASTER_KEY',
    );
    expect(err.message).not.toContain(secretish);
    expect(err.message.split('\n')).toHaveLength(1);
    expectConfigError(() => loadConfig({ PORT: 'eighty' }, tmpDir()), 'PORT');
    expectConfigError(
      () => loadConfig({ WHATSAPP_PHONE_NUMBER_ID: '12ab' }, tmpDir()),
      'WHATSAPP_PHONE_NUMBER_ID',
    );
    expectConfigError(
      () => loadConfig({ DATABASE_URL: 'mysql://x', FLOWGUARD_MASTER_KEY: key() }, tmpDir()),
      'DATABASE_URL',
    );
    expectConfigError(() => loadConfig({ TLS_CERT_FILE: '/x.pem' }, tmpDir()), 'TLS_KEY_FILE');
  });

  it('trusts X-Forwarded-For from loopback and private proxies by default; the list or none can be set', () => {
    expect(loadConfig({}, tmpDir()).server.trustedProxies).toEqual(['loopback', 'linklocal', 'uniquelocal']);
    expect(loadConfig({ FLOWGUARD_TRUSTED_PROXIES: 'none' }, tmpDir()).server.trustedProxies).toBe(false);
    expect(
      loadConfig({ FLOWGUARD_TRUSTED_PROXIES: '10.1.0.0/16, 192.0.2.7,::1,loopback' }, tmpDir()).server
        .trustedProxies,
    ).toEqual(['10.1.0.0/16', '192.0.2.7', '::1', 'loopback']);
    // The YAML file's server.trustedProxies, which the environment overrides.
    const cwd = tmpDir();
    fs.writeFileSync(
      path.join(cwd, 'flowguard.yaml'),
      'server:\n  trustedProxies: 172.16.0.0/12, fd00::/8\n',
    );
    expect(loadConfig({}, cwd).server.trustedProxies).toEqual(['172.16.0.0/12', 'fd00::/8']);
    expect(loadConfig({ FLOWGUARD_TRUSTED_PROXIES: 'none' }, cwd).server.trustedProxies).toBe(false);
    fs.writeFileSync(path.join(cwd, 'flowguard.yaml'), 'server:\n  trustedProxies: everyone\n');
    expectConfigError(() => loadConfig({}, cwd), 'FLOWGUARD_CONFIG.server.trustedProxies');
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '999.1.1.1', 'none,loopback', '10.0.0.1/8/8']) {
      expectConfigError(
        () => loadConfig({ FLOWGUARD_TRUSTED_PROXIES: bad }, tmpDir()),
        'FLOWGUARD_TRUSTED_PROXIES',
      );
    }
  });

  it('names repeated PostgreSQL statements unless FLOWGUARD_DB_PREPARED_STATEMENTS=false', () => {
    expect(loadConfig({}, tmpDir()).dbPreparedStatements).toBe(true);
    expect(loadConfig({ FLOWGUARD_DB_PREPARED_STATEMENTS: 'false' }, tmpDir()).dbPreparedStatements).toBe(
      false,
    );
    expectConfigError(
      () => loadConfig({ FLOWGUARD_DB_PREPARED_STATEMENTS: 'off' }, tmpDir()),
      'FLOWGUARD_DB_PREPARED_STATEMENTS',
    );
  });

  it('reads the YAML file with ${ENV} interpolation and validates it', () => {
    const cwd = tmpDir();
    fs.writeFileSync(
      path.join(cwd, 'flowguard.yaml'),
      [
        'server:',
        '  port: 9999',
        'tenant:',
        '  storeMessageContent: true',
        '  regimes: [gdpr, ccpa]',
        '  forward:',
        '    - url: ${DOWNSTREAM_URL}',
        '      secret: ${DOWNSTREAM_SECRET}',
      ].join('\n'),
    );
    const c = loadConfig(
      { DOWNSTREAM_URL: 'http://127.0.0.1:9/hook', DOWNSTREAM_SECRET: 'x'.repeat(20) },
      cwd,
    );
    expect(c.configFile).toBe(path.join(cwd, 'flowguard.yaml'));
    expect(c.server.port).toBe(9999);
    expect(c.defaultTenant.settings).toMatchObject({
      storeMessageContent: true,
      regimes: ['gdpr', 'ccpa'],
      forward: [{ url: 'http://127.0.0.1:9/hook', secret: 'x'.repeat(20) }],
    });
    // The environment wins over the file.
    expect(
      loadConfig({ PORT: '7000', DOWNSTREAM_URL: 'http://a.test/', DOWNSTREAM_SECRET: 'y'.repeat(20) }, cwd)
        .server.port,
    ).toBe(7000);
    expectConfigError(() => loadConfig({ DOWNSTREAM_SECRET: 'y'.repeat(20) }, cwd), 'tenant.forward.0.url');
  });

  it('names the key path for a bad YAML value and refuses unknown keys', () => {
    const cwd = tmpDir();
    const file = path.join(cwd, 'custom.yaml');
    fs.writeFileSync(file, 'tenant:\n  regimes: [lgpd]\n');
    expectConfigError(() => loadConfig({ FLOWGUARD_CONFIG: file }, cwd), 'FLOWGUARD_CONFIG.tenant.regimes.0');
    fs.writeFileSync(file, 'servr:\n  port: 1\n');
    expectConfigError(() => loadConfig({ FLOWGUARD_CONFIG: file }, cwd), 'FLOWGUARD_CONFIG');
    fs.writeFileSync(file, 'server: [unclosed\n');
    expectConfigError(() => loadConfig({ FLOWGUARD_CONFIG: file }, cwd), 'FLOWGUARD_CONFIG');
    expectConfigError(
      () => loadConfig({ FLOWGUARD_CONFIG: path.join(cwd, 'missing.yaml') }, cwd),
      'FLOWGUARD_CONFIG',
    );
  });

  it('reads the Flows private key from a file or the environment, not both', () => {
    const cwd = tmpDir();
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n';
    fs.writeFileSync(path.join(cwd, 'k.pem'), pem);
    expect(loadConfig({ FLOWS_PRIVATE_KEY_FILE: 'k.pem' }, cwd).defaultTenant.flowsPrivateKeyPem).toBe(pem);
    expect(
      loadConfig({ FLOWS_PRIVATE_KEY: pem.replace(/\n/g, '\\n') }, cwd).defaultTenant.flowsPrivateKeyPem,
    ).toBe(pem);
    expectConfigError(
      () => loadConfig({ FLOWS_PRIVATE_KEY_FILE: 'nope.pem' }, cwd),
      'FLOWS_PRIVATE_KEY_FILE',
    );
    expectConfigError(
      () => loadConfig({ FLOWS_PRIVATE_KEY_FILE: 'k.pem', FLOWS_PRIVATE_KEY: pem }, cwd),
      'FLOWS_PRIVATE_KEY_FILE',
    );
  });

  it('treats empty variables as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', WHATSAPP_APP_SECRET: '' }, tmpDir());
    expect(c.server.port).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.defaultTenant.appSecret).toBeUndefined();
  });
});
