import crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DecryptError } from './aead.js';
import { createFieldCipher } from './subject-cipher.js';
import { createDecryptStream, createEncryptStream } from './stream-cipher.js';

const SEGMENT = 1024;
const subjectCipher = createFieldCipher(crypto.randomBytes(32));
const wrap = (rowId: string) => (k: Buffer) =>
  subjectCipher.encrypt(k.toString('base64'), 'media', 'file_key', rowId);
const unwrap = (rowId: string) => (w: string) =>
  Buffer.from(subjectCipher.decrypt(w, 'media', 'file_key', rowId), 'base64');

/** Feed `data` in random-sized chunks through a transform and collect the output. */
async function run(transform: NodeJS.ReadWriteStream, data: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let at = 0;
  const parts: Buffer[] = [];
  while (at < data.length) {
    const n = crypto.randomInt(1, 3 * SEGMENT);
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  await pipeline(
    Readable.from(parts),
    transform,
    new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(chunks);
}

const encrypt = (data: Buffer, rowId = 'r1') =>
  run(createEncryptStream({ wrapKey: wrap(rowId), aad: `media.file.${rowId}`, segmentBytes: SEGMENT }), data);
const decrypt = (data: Buffer, rowId = 'r1', aad = `media.file.${rowId}`) =>
  run(createDecryptStream({ unwrapKey: unwrap(rowId), aad }), data);

describe('segmented AES-256-GCM streams', () => {
  it.each([0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 5 * SEGMENT, 7 * SEGMENT + 13])(
    'round-trips %i bytes and never contains the plaintext',
    async (size) => {
      const plain = crypto.randomBytes(size);
      const sealed = await encrypt(plain);
      expect(sealed.subarray(0, 4).toString('ascii')).toBe('FGS1');
      if (size >= 16) expect(sealed.includes(plain.subarray(0, 16))).toBe(false);
      expect((await decrypt(sealed)).equals(plain)).toBe(true);
    },
  );

  it('uses a fresh file key each time', async () => {
    const plain = Buffer.alloc(3 * SEGMENT, 7);
    const [a, b] = [await encrypt(plain), await encrypt(plain)];
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a flipped byte, a truncation, a dropped or swapped segment and appended bytes', async () => {
    const plain = crypto.randomBytes(4 * SEGMENT + 100);
    const sealed = await encrypt(plain);
    const headerLength = sealed.length - (4 * (SEGMENT + 16) + 100 + 16);
    const seg = (i: number) =>
      sealed.subarray(headerLength + i * (SEGMENT + 16), headerLength + (i + 1) * (SEGMENT + 16));
    const header = sealed.subarray(0, headerLength);
    const last = sealed.subarray(headerLength + 4 * (SEGMENT + 16));

    const flipped = Buffer.from(sealed);
    flipped[headerLength + 10] = flipped[headerLength + 10]! ^ 1;
    const cases = {
      flipped,
      truncatedAtBoundary: Buffer.concat([header, seg(0), seg(1), seg(2), seg(3)]),
      truncatedMidway: sealed.subarray(0, sealed.length - 50),
      dropped: Buffer.concat([header, seg(0), seg(2), seg(3), last]),
      swapped: Buffer.concat([header, seg(1), seg(0), seg(2), seg(3), last]),
      appended: Buffer.concat([sealed, Buffer.alloc(20)]),
      headerOnly: header,
    };
    for (const [name, bad] of Object.entries(cases)) {
      await expect(decrypt(bad), name).rejects.toBeInstanceOf(DecryptError);
    }
  });

  it('is bound to its place and its wrapping key', async () => {
    const sealed = await encrypt(Buffer.from('a picture'), 'r1');
    await expect(decrypt(sealed, 'r1', 'media.file.r2')).rejects.toThrow(DecryptError);
    // The wrapped key is bound to its row, so a file copied to another row cannot be opened either.
    await expect(decrypt(sealed, 'r2', 'media.file.r1')).rejects.toThrow(/file key cannot be unwrapped/);
    const otherKey = createFieldCipher(crypto.randomBytes(32));
    const shredded = createDecryptStream({
      unwrapKey: (w) => Buffer.from(otherKey.decrypt(w, 'media', 'file_key', 'r1'), 'base64'),
      aad: 'media.file.r1',
    });
    await expect(run(shredded, sealed)).rejects.toThrow(DecryptError);
  });
});
