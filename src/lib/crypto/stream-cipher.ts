import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DecryptError } from './aead.js';

/**
 * Files too large to hold in memory (media, up to 100 MB), encrypted as a stream with AES-256-GCM in segments
 * (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár):
 *
 *   'FGS1' | u32 segment size | u16 n | wrapped file key (n bytes, utf8) | segment 0 | segment 1 | ...
 *   segment i = AES-256-GCM(file key, nonce_i, plaintext_i, aad) = ciphertext | tag[16]
 *   nonce_i   = 7 zero bytes | u32 i | 0x01 on the last segment, 0x00 otherwise
 *
 * Every file has its own random 256-bit key, so counter nonces never repeat under one key. The key is stored in
 * the header wrapped by the caller (for media: under the person's data key, so deleting that key shreds every
 * copy of the file, backups included). Each segment is authenticated with the caller's AAD (binding the file to
 * its place, e.g. `media.file.<rowId>`) and the header; reordered, dropped, truncated or appended segments and a
 * file moved to another place fail to decrypt. Decryption only ever emits authenticated segments.
 */

const MAGIC = Buffer.from('FGS1', 'ascii');
const TAG_BYTES = 16;
const FIXED_HEADER = MAGIC.length + 4 + 2;
export const DEFAULT_SEGMENT_BYTES = 64 * 1024;

function nonce(index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
  return n;
}

/** A queue of chunks that hands out exact byte counts without re-copying on every write. */
class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key');
}

/** Encrypts a byte stream; `wrapKey` seals the fresh per-file key for the header (it never leaves this file). */
export function createEncryptStream(opts: {
  wrapKey: (fileKey: Buffer) => string;
  aad: string;
  segmentBytes?: number;
}): Transform {
  const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const fileKey = crypto.randomBytes(32);
  const wrapped = Buffer.from(opts.wrapKey(fileKey), 'utf8');
  if (wrapped.length > 0xffff) throw new Error('wrapped key too long');
  const header = Buffer.alloc(FIXED_HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(segmentBytes, MAGIC.length);
  header.writeUInt16BE(wrapped.length, MAGIC.length + 4);
  const fullHeader = Buffer.concat([header, wrapped]);
  const aad = Buffer.concat([Buffer.from(opts.aad, 'utf8'), fullHeader]);
  const pending = new Bytes();
  let index = 0;
  let headerSent = false;

  const seal = (plaintext: Buffer, last: boolean): Buffer => {
    const cipher = crypto.createCipheriv('aes-256-gcm', fileKey, nonce(index++, last));
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    if (!headerSent) {
      headerSent = true;
      return Buffer.concat([fullHeader, body]);
    }
    return body;
  };

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      pending.push(chunk);
      try {
        // A segment is sealed as "not last" only once more bytes are known to follow it.
        while (pending.length > segmentBytes) this.push(seal(pending.take(segmentBytes), false));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        this.push(seal(pending.take(pending.length), true));
        fileKey.fill(0);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/** Decrypts what createEncryptStream wrote; `unwrapKey` opens the header's wrapped key. Fails with DecryptError. */
export function createDecryptStream(opts: {
  unwrapKey: (wrapped: string) => Buffer;
  aad: string;
  /** Refuse headers announcing larger segments (memory bound). */
  maxSegmentBytes?: number;
}): Transform {
  const pending = new Bytes();
  let fileKey: Buffer | undefined;
  let aad: Buffer | undefined;
  let segmentBytes = 0;
  let index = 0;

  const readHeader = (): boolean => {
    if (pending.length < FIXED_HEADER) return false;
    const fixed = pending.take(FIXED_HEADER);
    const restore = () => {
      const rest = pending.take(pending.length);
      pending.push(Buffer.concat([fixed, rest]));
    };
    if (!fixed.subarray(0, MAGIC.length).equals(MAGIC)) throw new DecryptError('unknown stream format');
    segmentBytes = fixed.readUInt32BE(MAGIC.length);
    if (segmentBytes < 1 || segmentBytes > (opts.maxSegmentBytes ?? 16 * 1024 * 1024))
      throw new DecryptError('bad segment size');
    const wrappedLength = fixed.readUInt16BE(MAGIC.length + 4);
    if (pending.length < wrappedLength) {
      restore();
      return false;
    }
    const wrapped = pending.take(wrappedLength);
    let key: Buffer;
    try {
      key = opts.unwrapKey(wrapped.toString('utf8'));
      checkKey(key);
    } catch {
      throw new DecryptError('file key cannot be unwrapped');
    }
    fileKey = key;
    aad = Buffer.concat([Buffer.from(opts.aad, 'utf8'), fixed, wrapped]);
    return true;
  };

  const open = (sealed: Buffer, last: boolean): Buffer => {
    if (sealed.length < TAG_BYTES) throw new DecryptError('stream truncated');
    const decipher = crypto.createDecipheriv('aes-256-gcm', fileKey!, nonce(index++, last));
    decipher.setAAD(aad!);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new DecryptError('authentication failed');
    }
  };

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      pending.push(chunk);
      try {
        if (!fileKey && !readHeader()) return cb();
        const sealedBytes = segmentBytes + TAG_BYTES;
        while (pending.length > sealedBytes) this.push(open(pending.take(sealedBytes), false));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!fileKey && !readHeader()) throw new DecryptError('stream truncated');
        this.push(open(pending.take(pending.length), true));
        fileKey?.fill(0);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}
