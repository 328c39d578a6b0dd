import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { portFrom } from './s3rver.js';

/** Azurite's well-known development account (public; documented by Microsoft for the emulator only). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteInstance {
  connectionString: string;
  host: string;
  port: number;
  /** The connection string for another blob endpoint (e.g. a fault proxy in front of this one). */
  connectionStringFor(host: string, port: number): string;
  close(): Promise<void>;
}

const connectionStringFor = (host: string, port: number) =>
  `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=http://${host}:${port}/${DEV_ACCOUNT};`;

/**
 * Azurite's blob service on 127.0.0.1 and a port it picks (`--blobPort 0`, printed on start-up), in memory
 * (faster than `--location`; nothing is left on disk), without telemetry, for one test file.
 */
export async function startAzurite(): Promise<AzuriteInstance> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-azurite-'));
  const main = path.join(
    path.dirname(createRequire(import.meta.url).resolve('azurite/package.json')),
    'dist/src/blob/main.js',
  );
  const child = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--inMemoryPersistence',
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const port = await portFrom(child, /listens on http:\/\/127\.0\.0\.1:(\d+)/, 'azurite');
  return {
    connectionString: connectionStringFor('127.0.0.1', port),
    host: '127.0.0.1',
    port,
    connectionStringFor,
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}
