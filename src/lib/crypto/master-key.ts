import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The embedded default may generate its master key into the data dir (0600) so `npm start` works with no
 * setup. Production (DATABASE_URL) must pass FLOWGUARD_MASTER_KEY; config enforces that.
 */
export function loadOrCreateMasterKey(
  configured: Buffer | undefined,
  dataDir: string,
  warn: (msg: string) => void,
): Buffer {
  if (configured) return configured;
  const file = path.join(dataDir, 'master.key');
  if (fs.existsSync(file)) {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return key;
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  warn(
    `generated a master key into ${file}: back it up apart from the database and set FLOWGUARD_MASTER_KEY in production`,
  );
  return key;
}
