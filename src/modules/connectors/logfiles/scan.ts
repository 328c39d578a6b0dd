import type { ExportedRecords, Located } from '../port.js';
import { fileLines } from './lines.js';
import { fsError, isGzip } from './files.js';
import type { LineMatcher } from './match.js';

/** Lines an export returns in all (a person's whole history in a verbose log could be huge). */
export const MAX_EXPORT_LINES = 10_000;
const MAX_LINE_CHARS = 64 * 1024;

export async function countMatches(file: string, match: LineMatcher): Promise<number> {
  let n = 0;
  try {
    for await (const line of fileLines(file, await isGzip(file))) if (match(line)) n++;
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return 0; // rotated away meanwhile
    throw fsError(err);
  }
  return n;
}

export async function locateIn(files: string[], match: LineMatcher): Promise<Located[]> {
  const out: Located[] = [];
  for (const file of files) {
    const count = await countMatches(file, match);
    if (count > 0) out.push({ where: file, count });
  }
  return out;
}

/** The matching lines, file by file, at most MAX_EXPORT_LINES in all; what is left out is counted. */
export async function exportFrom(
  files: string[],
  match: LineMatcher,
  format: 'jsonl' | 'text',
  category: string,
): Promise<ExportedRecords[]> {
  const out: ExportedRecords[] = [];
  let budget = MAX_EXPORT_LINES;
  for (const file of files) {
    const records: Record<string, unknown>[] = [];
    let lineNo = 0;
    let omitted = 0;
    try {
      for await (const line of fileLines(file, await isGzip(file))) {
        lineNo++;
        if (!match(line)) continue;
        if (budget === 0) {
          omitted++;
          continue;
        }
        budget--;
        records.push(toRecord(line.toString('utf8').replace(/\r?\n$/, ''), lineNo, format));
      }
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') continue;
      throw fsError(err);
    }
    if (omitted)
      records.push({ omitted, note: `more matching lines than the export limit (${MAX_EXPORT_LINES})` });
    if (records.length) out.push({ where: file, category, records });
  }
  return out;
}

function toRecord(text: string, line: number, format: 'jsonl' | 'text'): Record<string, unknown> {
  if (format === 'jsonl') {
    try {
      return { line, record: JSON.parse(text) as unknown };
    } catch {
      // not JSON: returned as text below
    }
  }
  return text.length > MAX_LINE_CHARS
    ? { line, text: text.slice(0, MAX_LINE_CHARS), truncated: true }
    : { line, text };
}
