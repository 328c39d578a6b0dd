import crypto from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { openDecoded, splitLines } from './lines.js';
import { fsError, isGzip } from './files.js';
import type { LineMatcher } from './match.js';

const BATCH_BYTES = 64 * 1024;
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

export type RewriteResult = { removed: number } | { readOnly: true };

/**
 * Rewrite a file without the lines `match` selects, streaming (memory stays at a few buffers whatever the
 * file's size): the kept lines go to a temporary file in the same directory, which gets the original's mode
 * (and owner, when permitted), is fsynced, and then renamed over the original (atomic on one file system);
 * the directory is fsynced so the rename survives a crash. Gzip files are rewritten as gzip.
 * Lines appended to the original while it is rewritten are lost (see README: rotate before erasing).
 * Refused writes (read-only file system, permissions) come back as `readOnly`.
 */
export async function rewriteWithout(file: string, match: LineMatcher): Promise<RewriteResult> {
  let st: Awaited<ReturnType<typeof fs.stat>>;
  let gzip: boolean;
  try {
    st = await fs.stat(file);
    gzip = await isGzip(file);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return { removed: 0 }; // rotated away meanwhile
    throw fsError(err);
  }
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.flowguard-${crypto.randomBytes(6).toString('hex')}.tmp`,
  );
  let removed = 0;
  try {
    const keep = async function* (source: AsyncIterable<Buffer>) {
      let batch: Buffer[] = [];
      let size = 0;
      for await (const line of splitLines(source)) {
        if (match(line)) {
          removed++;
          continue;
        }
        batch.push(line);
        size += line.length;
        if (size >= BATCH_BYTES) {
          yield Buffer.concat(batch, size);
          batch = [];
          size = 0;
        }
      }
      if (size) yield Buffer.concat(batch, size);
    };
    const sink = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    if (gzip) await pipeline(openDecoded(file, true), keep, zlib.createGzip(), sink);
    else await pipeline(openDecoded(file, false), keep, sink);
    // fsync is per file, so a second descriptor flushes what the stream wrote (a FileHandle-backed stream
    // would keep its handle from closing).
    const fh = await fs.open(tmp, 'r+');
    try {
      await fh.chmod(st.mode & 0o7777);
      await fh.chown(st.uid, st.gid).catch(() => undefined);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (removed === 0) {
      await fs.unlink(tmp);
      return { removed };
    }
    await fs.rename(tmp, file);
    await syncDir(path.dirname(file));
    return { removed };
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    if (READ_ONLY_CODES.has(String((err as { code?: unknown }).code))) return { readOnly: true };
    throw fsError(err);
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // some file systems cannot fsync a directory; the rename itself is still atomic
  } finally {
    await d.close();
  }
}
