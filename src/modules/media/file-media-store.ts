import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertMediaKey, type MediaStore } from './media-store.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Media objects as files: `<root>/<tenant>/<random id>`, owner-only permissions. A write goes to
 * `<id>.partial`, is fsynced and renamed into place, so a reader never sees half a file and a crash leaves at
 * most a `.partial` that the next write or delete of that name removes.
 */
export function createFileMediaStore(root: string): MediaStore {
  const fileOf = (key: string) => {
    assertMediaKey(key);
    return path.join(root, ...key.split('/'));
  };
  return {
    kind: 'filesystem',
    newKey(tenantId) {
      const key = `${tenantId}/${crypto.randomBytes(16).toString('hex')}`;
      assertMediaKey(key);
      return key;
    },
    async put(key, body) {
      const file = fileOf(key);
      const partial = `${file}.partial`;
      await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        await pipeline(body, fs.createWriteStream(partial, { mode: 0o600 }));
        const fh = await fs.promises.open(partial, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.promises.rename(partial, file);
      } catch (err) {
        await fs.promises.rm(partial, { force: true });
        throw err;
      }
    },
    async get(key) {
      const file = fileOf(key);
      try {
        const fh = await fs.promises.open(file, 'r');
        return fh.createReadStream() as Readable;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async delete(key) {
      const file = fileOf(key);
      await fs.promises.rm(`${file}.partial`, { force: true });
      try {
        await fs.promises.unlink(file);
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
    async exists(key) {
      try {
        await fs.promises.access(fileOf(key));
        return true;
      } catch {
        return false;
      }
    },
  };
}
