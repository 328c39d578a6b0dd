import fs from 'node:fs';
import zlib from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';

/** Split a byte stream into lines, each with its own terminator (`\n` or `\r\n`), the last one possibly without. */
export async function* splitLines(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let rest: Buffer[] = [];
  for await (const chunk of source) {
    let start = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, i + 1);
      if (rest.length) {
        rest.push(piece);
        yield Buffer.concat(rest);
        rest = [];
      } else {
        yield piece;
      }
      start = i + 1;
    }
    if (start < chunk.length) rest.push(chunk.subarray(start));
  }
  if (rest.length) yield Buffer.concat(rest);
}

/** The file's decoded bytes: gunzipped when it is gzip (an error in either stream destroys both). */
export function openDecoded(file: string, gzip: boolean): Readable {
  const raw = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  return gzip ? pipeline(raw, zlib.createGunzip(), () => undefined) : raw;
}

/** Lines of a file, streaming. */
export function fileLines(file: string, gzip: boolean): AsyncGenerator<Buffer> {
  return splitLines(openDecoded(file, gzip));
}
