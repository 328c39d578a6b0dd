import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemSchema } from '../../src/config/datamap.js';
import { loadConnectors } from '../../src/modules/connectors/connectors.js';
import type { Connector } from '../../src/modules/connectors/port.js';
import { createConnector } from '../../src/modules/connectors/registry.js';
import { connectorContract, contractPerson, type ContractPerson } from '../helpers/connector-contract.js';

const total = (xs: { count: number }[]) => xs.reduce((n, x) => n + x.count, 0);
const gunzipText = (file: string) => zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');

describe('logfiles connector', () => {
  let root: string;
  const open: Connector[] = [];

  function connector(paths: string[], over: Record<string, unknown> = {}): Connector {
    const spec = systemSchema.parse({ id: 'logs', type: 'logfiles', paths, ...over });
    const c = createConnector(spec, { lookup: () => undefined });
    open.push(c);
    return c;
  }
  function dir(): string {
    const d = path.join(root, crypto.randomBytes(4).toString('hex'));
    fs.mkdirSync(d);
    return d;
  }
  const other = () => contractPerson();

  beforeAll(async () => {
    await loadConnectors(['logfiles']);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fg-logfiles-'));
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe('contract (JSON lines, plain and gzip)', () => {
    let d: string;
    beforeAll(() => {
      d = dir();
    });
    connectorContract({
      connector: () =>
        connector([path.join(d, 'app*.jsonl'), path.join(d, 'app*.jsonl.gz')], { format: 'jsonl' }),
      seed: async (p: ContractPerson) => {
        const o = other();
        const lines = [
          { level: 'info', msg: 'inbound', from: p.e164 },
          { level: 'info', msg: 'noise', from: o.e164 },
          { wa_id: p.digits, text: 'hello' },
          { user: { ids: [p.bsuid] } },
          { phone: Number(p.digits) },
          { wa_id: o.digits },
        ];
        fs.appendFileSync(path.join(d, 'app.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
        const gz = path.join(d, 'app.1.jsonl.gz');
        const before = fs.existsSync(gz) ? gunzipText(gz) : '';
        fs.writeFileSync(gz, zlib.gzipSync(before + lines.map((l) => JSON.stringify(l) + '\n').join('')));
      },
    });
  });

  describe('contract (text)', () => {
    let d: string;
    beforeAll(() => {
      d = dir();
    });
    connectorContract({
      connector: () => connector([path.join(d, '*.log')]),
      seed: async (p: ContractPerson) => {
        const o = other();
        fs.appendFileSync(
          path.join(d, 'web.log'),
          [
            `2025-01-01T00:00:00Z INFO message from ${p.e164} accepted`,
            `2025-01-01T00:00:01Z INFO message from ${o.e164} accepted`,
            `2025-01-01T00:00:02Z DEBUG wa_id=${p.digits} status=read`,
            `2025-01-01T00:00:03Z DEBUG user=${p.bsuid}`,
            `2025-01-01T00:00:04Z INFO nothing to see`,
          ].join('\n') + '\n',
        );
      },
    });
  });

  it('matches text identifiers only on boundaries', async () => {
    const d = dir();
    const p = contractPerson();
    const file = path.join(d, 'app.log');
    const kept = [
      `a ${p.digits}5 longer number`,
      `b 00${p.digits} international prefix`,
      `c ${p.bsuid}x longer id`,
      `d x${p.digits}`,
    ];
    const gone = [`e to ${p.e164}.`, `f wa=${p.digits},`, `g "${p.bsuid}"`, `h (${p.digits})`];
    fs.writeFileSync(file, [...kept.slice(0, 2), ...gone, ...kept.slice(2)].join('\n') + '\n');
    const c = connector([file]);
    expect(await c.locate(p.ids)).toEqual([{ where: file, count: 4, retained: undefined }]);
    expect(await c.erase(p.ids, { requestId: 'r' })).toEqual([{ where: file, action: 'deleted', count: 4 }]);
    expect(fs.readFileSync(file, 'utf8')).toBe(kept.join('\n') + '\n');
  });

  it('matches JSON lines anywhere: values, substrings, numbers, keys, nested; bad JSON as text', async () => {
    const d = dir();
    const p = contractPerson();
    const file = path.join(d, 'events.jsonl');
    const hits = [
      JSON.stringify({ msg: `sent to ${p.digits} ok` }),
      JSON.stringify({ a: { b: [{ c: p.e164 }] } }),
      JSON.stringify({ n: Number(p.digits) }),
      JSON.stringify({ [p.bsuid]: { seen: true } }),
      `{"broken": "${p.digits}"`,
    ];
    const misses = [
      JSON.stringify({ msg: `${p.digits}9` }),
      JSON.stringify({ n: Number(`${p.digits}1`) }),
      JSON.stringify({ other: contractPerson().e164 }),
    ];
    fs.writeFileSync(file, [...misses, ...hits].join('\n') + '\n');
    const c = connector([file], { format: 'jsonl' });
    const exported = await c.export(p.ids);
    expect(exported).toHaveLength(1);
    expect(exported[0]!.records).toHaveLength(5);
    expect(exported[0]!.records[1]).toEqual({ line: 5, record: { a: { b: [{ c: p.e164 }] } } });
    expect(exported[0]!.records[4]).toEqual({ line: 8, text: `{"broken": "${p.digits}"` });
    await c.erase(p.ids, { requestId: 'r' });
    expect(fs.readFileSync(file, 'utf8')).toBe(misses.join('\n') + '\n');
  });

  it('keeps line endings, a last line without newline, and the file mode', async () => {
    const d = dir();
    const p = contractPerson();
    const file = path.join(d, 'crlf.log');
    fs.writeFileSync(file, `one\r\nfrom ${p.e164}\r\ntwo\r\nthree ${p.digits}`);
    fs.chmodSync(file, 0o640);
    const c = connector([file]);
    expect(total(await c.erase(p.ids, { requestId: 'r' }))).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe('one\r\ntwo\r\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(d)).toEqual(['crlf.log']);
  });

  it('reports a read-only file with its count, leaves it intact, and verify does not loop on it', async () => {
    const d = dir();
    const p = contractPerson();
    const ro = path.join(d, 'archive.log');
    const rw = path.join(d, 'current.log');
    const content = `x ${p.e164}\ny other\nz ${p.bsuid}\n`;
    fs.writeFileSync(ro, content);
    fs.chmodSync(ro, 0o444);
    fs.writeFileSync(rw, content);
    const c = connector([path.join(d, '*.log')]);
    expect(await c.erase(p.ids, { requestId: 'r' })).toEqual([
      { where: ro, action: 'reported', count: 2, reason: 'read-only' },
      { where: rw, action: 'deleted', count: 2 },
    ]);
    expect(fs.readFileSync(ro, 'utf8')).toBe(content);
    expect(await c.verify(p.ids)).toEqual([]);
    expect(total(await c.locate(p.ids))).toBe(2);
    const report = await c.check();
    expect(report.reachable).toBe(true);
    expect(report.warnings).toEqual([`logs: ${ro} is read-only; erasure will be reported, not done`]);
  });

  it('rewrites a rotated gzip file as gzip', async () => {
    const d = dir();
    const p = contractPerson();
    const file = path.join(d, 'app.log.2.gz');
    fs.writeFileSync(file, zlib.gzipSync(`keep 1\ndrop ${p.digits}\nkeep 2\n`));
    fs.chmodSync(file, 0o600);
    const c = connector([path.join(d, 'app.log*')]);
    expect(await c.export(p.ids)).toEqual([
      { where: file, category: 'logs', records: [{ line: 2, text: `drop ${p.digits}` }] },
    ]);
    expect(await c.erase(p.ids, { requestId: 'r' })).toEqual([{ where: file, action: 'deleted', count: 1 }]);
    expect(gunzipText(file)).toBe('keep 1\nkeep 2\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('expands * within one directory only, skipping dotfiles and subdirectories; check warns on empty patterns', async () => {
    const d = dir();
    const p = contractPerson();
    for (const name of ['app.log', 'app.log.1', '.app.log.swp', 'other.txt']) {
      fs.writeFileSync(path.join(d, name), `${p.e164}\n`);
    }
    fs.mkdirSync(path.join(d, 'app.log.d'));
    fs.writeFileSync(path.join(d, 'app.log.d', 'x.log'), `${p.e164}\n`);
    const c = connector([path.join(d, 'app.log*'), path.join(d, 'nothing-*.log')]);
    expect((await c.locate(p.ids)).map((l) => path.basename(l.where))).toEqual(['app.log', 'app.log.1']);
    expect((await c.check()).warnings).toEqual([`logs: ${path.join(d, 'nothing-*.log')} matches no file`]);
    const bad = await connector([path.join(d, '*', 'x.log')]).check();
    expect(bad.reachable).toBe(false);
  });

  it('bounds an export and says how many lines were left out', async () => {
    const d = dir();
    const p = contractPerson();
    const file = path.join(d, 'chatty.log');
    fs.writeFileSync(file, `seen ${p.digits}\n`.repeat(10_003));
    const [out] = await connector([file]).export(p.ids);
    expect(out!.records).toHaveLength(10_001);
    expect(out!.records[10_000]).toMatchObject({ omitted: 3 });
  });

  it('erases from a 200k-line file by streaming it', async () => {
    const d = dir();
    const p = contractPerson();
    const o = contractPerson();
    const file = path.join(d, 'big.jsonl');
    const fd = fs.openSync(file, 'w');
    let chunk = '';
    for (let i = 0; i < 200_000; i++) {
      const who = i % 1000 === 7 ? p : o;
      chunk += `{"t":${i},"level":"info","from":"${who.e164}","msg":"delivered message number ${i}"}\n`;
      if (chunk.length > 1 << 20) {
        fs.writeSync(fd, chunk);
        chunk = '';
      }
    }
    fs.writeSync(fd, chunk);
    fs.closeSync(fd);
    const size = fs.statSync(file).size;
    const c = connector([file], { format: 'jsonl' });
    expect(await c.erase(p.ids, { requestId: 'r' })).toEqual([
      { where: file, action: 'deleted', count: 200 },
    ]);
    expect(await c.verify(p.ids)).toEqual([]);
    expect(total(await c.locate(o.ids))).toBe(199_800);
    expect(fs.statSync(file).size).toBeLessThan(size);
  });
});
