import os from 'node:os';
import path from 'node:path';
import { writeResults } from './harness/report.js';
import { repoRoot } from './harness/store.js';
import { FULL_SIZES, runBench } from './runner.js';
import { scenarios } from './scenarios/index.js';

/**
 * `npm run bench [-- options]`: runs the benchmark scenarios against a built flowguard and writes
 * bench/results/<timestamp>.json, latest.json, latest.md and SVG charts.
 *   --scenarios a,b   only these (ids: flows, webhooks, erasure, e2e-erasure, retention, access-export)
 *   --sizes 10k,100k  store sizes of the erasure scenario (default 10k,100k,1M)
 *   --runs N          measured runs per point (default 3; the report shows medians)
 *   --quick           1 run, sizes 10k,100k
 *   --tiny            smoke sizes (what the test runs); results go to a temp dir unless --out is given
 *   --out DIR         where to write (default bench/results)
 */

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s.trim());
  if (!m) throw new Error(`--sizes: not a size: ${s}`);
  const mult = m[2]?.toLowerCase() === 'k' ? 1e3 : m[2]?.toLowerCase() === 'm' ? 1e6 : 1;
  return Math.round(Number(m[1]) * mult);
}

function parseArgs(argv: string[]) {
  const opts = { tiny: false, runs: 3, sizes: FULL_SIZES, only: [] as string[], out: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--tiny') opts.tiny = true;
    else if (a === '--quick') {
      opts.runs = 1;
      opts.sizes = [10_000, 100_000];
    } else if (a === '--runs') opts.runs = Math.max(1, Number(value()));
    else if (a === '--sizes') opts.sizes = value().split(',').map(parseSize);
    else if (a === '--scenarios')
      opts.only = value()
        .split(',')
        .map((s) => s.trim());
    else if (a === '--out') opts.out = value();
    else throw new Error(`unknown option ${a}`);
  }
  const ids = scenarios.map((s) => s.id);
  for (const id of opts.only)
    if (!ids.includes(id)) throw new Error(`unknown scenario ${id} (${ids.join(', ')})`);
  if (opts.tiny) {
    opts.runs = 1;
    opts.sizes = [300];
  }
  return opts;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) =>
    console.error(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${line}`);
  const result = await runBench({ ...opts, log });
  const out =
    opts.out ||
    (opts.tiny ? path.join(os.tmpdir(), 'flowguard-bench-tiny') : path.join(repoRoot(), 'bench', 'results'));
  const file = writeResults(result, out);
  log(`results: ${file} and ${path.join(out, 'latest.md')}`);
  return result.scenarios.some((s) => s.status === 'failed') ? 1 : 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  return 2;
});
