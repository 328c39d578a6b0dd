import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { PermanentError, RetryableError, classify } from '../errors.js';

/**
 * The files a logfiles system names: literal paths, or a `*` pattern in the last path segment
 * (`/var/log/app/*.jsonl`, `/var/log/app/app.log*` for rotated files). `*` matches within one directory and
 * not a leading dot (as in a shell); directories are literal. Our own temporary files are never listed.
 */

const TEMP = /\.flowguard-[0-9a-f]+\.tmp$/;

export async function expandPaths(patterns: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of patterns) for (const f of await expandOne(pattern)) out.add(f);
  return [...out].sort();
}

async function expandOne(pattern: string): Promise<string[]> {
  const resolved = path.resolve(pattern);
  const dir = path.dirname(resolved);
  const base = path.basename(resolved);
  if (dir.includes('*'))
    throw new PermanentError('logfiles_glob_in_directory', `${pattern}: * only in file names`);
  if (!base.includes('*')) return (await regularFile(resolved)) ? [resolved] : [];
  const re = new RegExp(
    `^${base
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw fsError(err);
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (!re.test(name) || TEMP.test(name) || (name.startsWith('.') && !base.startsWith('.'))) continue;
    const full = path.join(dir, name);
    if (await regularFile(full)) files.push(full);
  }
  return files;
}

async function regularFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw fsError(err);
  }
}

export async function isGzip(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Whether flowguard may rewrite a file: it has a write bit (a file chmod'ed read-only is a statement, even to
 * root), the process may write it, and may create and rename files in its directory.
 */
export async function canRewrite(file: string, mode: number): Promise<boolean> {
  if ((mode & 0o222) === 0) return false;
  try {
    await fs.access(file, constants.W_OK);
    await fs.access(path.dirname(file), constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const RETRYABLE_FS = new Set(['EMFILE', 'ENFILE', 'EBUSY', 'EAGAIN', 'ENOSPC', 'EIO']);

/** File-system failures: resource exhaustion retries; permissions and the like are permanent. */
export function fsError(err: unknown): RetryableError | PermanentError {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && RETRYABLE_FS.has(code))
    return new RetryableError(`logfiles_${code.toLowerCase()}`);
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code))
    return new PermanentError(`logfiles_${code.toLowerCase()}`);
  if (err instanceof Error && err.message.includes('incorrect header check'))
    return new PermanentError('logfiles_bad_gzip');
  return classify(err);
}
