import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/** TLS and mutual TLS terminated by flowguard itself, with certificates made by the openssl CLI per run. */

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makePki(dir: string) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    openssl(dir, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const leaf = (name: string, caName: string, ext: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.crt`,
      '-CAkey',
      `${caName}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    ]);
  };
  ca('ca');
  ca('rogue-ca');
  leaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  const file = (name: string) => path.join(dir, name);
  const read = (name: string) => fs.readFileSync(file(name));
  return { file, read };
}

function get(
  port: number,
  opts: https.RequestOptions,
): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, ...opts }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function listen(t: TestApp): Promise<number> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address !== 'object') throw new Error('not listening');
  return address.port;
}

describe('TLS termination (pglite)', () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;

  beforeAll(() => {
    execFileSync('openssl', ['version'], { stdio: 'pipe' }); // fails clearly when the CLI is missing
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-tls-'));
    pki = makePki(dir);
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a certificate without its key, naming the missing setting', () => {
    const attempt = () => loadConfig({ FLOWGUARD_DATA_DIR: dir, TLS_CERT_FILE: pki.file('server.crt') }, dir);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/TLS_KEY_FILE/);
    expect(() => loadConfig({ FLOWGUARD_DATA_DIR: dir, TLS_KEY_FILE: pki.file('server.key') }, dir)).toThrow(
      /TLS_CERT_FILE/,
    );
  });

  describe('server certificate only', () => {
    let t: TestApp;
    let port: number;
    beforeAll(async () => {
      t = await createTestApp('pglite', {
        TLS_CERT_FILE: pki.file('server.crt'),
        TLS_KEY_FILE: pki.file('server.key'),
      });
      port = await listen(t);
    });
    afterAll(async () => t?.close());

    it('serves https to a client that trusts the CA, and nothing to one that does not', async () => {
      const res = await get(port, { ca: pki.read('ca.crt') });
      expect(res.status).toBe(200);
      await expect(get(port, {})).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    });
  });

  describe('mutual TLS', () => {
    let t: TestApp;
    let port: number;
    const healthzCount = async () => {
      const text = await t.ctx.metrics.registry.getSingleMetricAsString('flowguard_http_requests_total');
      return [...text.matchAll(/route="\/healthz"[^}]*} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    };
    beforeAll(async () => {
      t = await createTestApp('pglite', {
        TLS_CERT_FILE: pki.file('server.crt'),
        TLS_KEY_FILE: pki.file('server.key'),
        TLS_CLIENT_CA_FILE: pki.file('ca.crt'),
      });
      port = await listen(t);
    });
    afterAll(async () => t?.close());

    it('answers a client with a certificate from the client CA', async () => {
      const res = await get(port, {
        ca: pki.read('ca.crt'),
        cert: pki.read('client.crt'),
        key: pki.read('client.key'),
      });
      expect(res.status).toBe(200);
      expect(await healthzCount()).toBe(1);
    });

    it('refuses, at the TLS layer, a client without a certificate or with one from another CA', async () => {
      const before = await healthzCount();
      const tlsRefusal = {
        code: expect.stringMatching(/^(ECONNRESET|EPROTO|ERR_SSL_[A-Z0-9_]+)$/) as unknown,
      };
      await expect(get(port, { ca: pki.read('ca.crt') })).rejects.toMatchObject(tlsRefusal);
      await expect(
        get(port, {
          ca: pki.read('ca.crt'),
          cert: pki.read('rogue-client.crt'),
          key: pki.read('rogue-client.key'),
        }),
      ).rejects.toMatchObject(tlsRefusal);
      expect(await healthzCount()).toBe(before);
    });
  });
});
