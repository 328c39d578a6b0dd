import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/**
 * s3rver (a real S3 protocol server on the file system) on 127.0.0.1 and a free port, for one test file.
 *
 * It runs in a child Node process started with --openssl-legacy-provider: s3rver 3.7 signs ListObjectsV2
 * continuation tokens with DES, which OpenSSL 3 (Node >= 17) only offers through the legacy provider — without
 * it every listing past the first 1,000 keys fails with a 500. The child also works around an s3rver race:
 * deleting several objects of one directory at once (DeleteObjects) makes the concurrent clean-ups of the
 * emptied directory fail with ENOENT after the objects themselves are gone. The child exits when its stdin
 * closes, so it cannot outlive the test process.
 */
export interface S3rverInstance {
  endpoint: string;
  host: string;
  port: number;
  /** The credentials s3rver accepts. */
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

const CHILD = `
const [modulePath, directory, buckets] = process.argv.slice(1);
const S3rver = require(modulePath);
const server = new S3rver({
  port: 0, address: '127.0.0.1', silent: true, directory,
  configureBuckets: JSON.parse(buckets).map((name) => ({ name })),
});
const deleteObject = server.store.deleteObject.bind(server.store);
server.store.deleteObject = (bucket, key) =>
  deleteObject(bucket, key).catch((err) => { if (err.code !== 'ENOENT') throw err; });
server.run().then((a) => process.stdout.write('PORT ' + a.port + '\\n'), (err) => { console.error(err); process.exit(1); });
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

export async function startS3rver(buckets: string[]): Promise<S3rverInstance> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-s3rver-'));
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', CHILD, modulePath, directory, JSON.stringify(buckets)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const port = await portFrom(child, /^PORT (\d+)$/m, 's3rver');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Wait for a child server to print its port (or fail with what it printed on stderr). */
export function portFrom(child: ChildProcess, pattern: RegExp, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s: ${err}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${err}`));
    });
  });
}
