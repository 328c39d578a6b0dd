import crypto from 'node:crypto';
import { runRetention, type CategoryResult, type ProgressListener } from '../../modules/retention/index.js';
import type { CliIo } from '../io.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

/**
 * `flowguard retention run [--dry-run]`: the scheduled sweep, on demand. Progress goes to stderr as it runs
 * (a bar on a terminal, one line per category otherwise); the summary `{category: {expired, deleted}}` to
 * stdout. Through the admin socket (embedded store held by `serve`) only the final lines come back.
 */

/** Exit code when another sweep holds the lease (sysexits EX_TEMPFAIL: try again later). */
export const EXIT_RETENTION_BUSY = 75;

/** Progress listeners of CLI invocations in this process, by a token passed in the command's args. */
const progressListeners = new Map<string, ProgressListener>();

registerStoreCommand('retention.run', async (ctx, args) => {
  const listener = typeof args.progress === 'string' ? progressListeners.get(args.progress) : undefined;
  const report = await runRetention(ctx, { dryRun: args.dryRun === true, onProgress: listener });
  if (report.status === 'busy') {
    return {
      exitCode: EXIT_RETENTION_BUSY,
      notes: ['flowguard: another retention sweep is running; try again later'],
    };
  }
  const rows = Object.values(report.categories).reduce(
    (n, r) => n + (report.dryRun ? r.expired : r.deleted),
    0,
  );
  const seconds = Math.max(report.durationMs, 1) / 1000;
  const notes = listener
    ? []
    : Object.entries(report.categories).map(([c, r]) => categoryLine(c, r, report.dryRun));
  notes.push(
    report.dryRun
      ? `retention (dry run): ${rows} rows/items past their retention; nothing deleted`
      : `retention: ${rows} rows/items deleted in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)}/s)`,
  );
  if (report.vacuumedTables > 0)
    notes.push(`retention: vacuumed and analyzed ${report.vacuumedTables} tables of the embedded store`);
  if (report.status === 'incomplete')
    notes.push('retention: stopped at retention.maxRunMinutes; the next run carries on');
  return { exitCode: 0, output: report.categories, notes };
});

function categoryLine(category: string, r: CategoryResult, dryRun: boolean): string {
  return dryRun
    ? `  ${category}: ${r.expired} expired`
    : `  ${category}: ${r.expired} expired, ${r.deleted} deleted`;
}

/** A progress display with no dependency: a redrawn bar on a terminal, plain lines elsewhere. */
export function progressDisplay(
  io: Pick<CliIo, 'err'>,
  tty: { write(s: string): unknown; columns?: number } | undefined,
  dryRun: boolean,
): { listener: ProgressListener; end(): void } {
  let lastLine = 0;
  let drawn = false;
  const clear = () => {
    if (tty && drawn) tty.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    listener(category, r, done) {
      if (done) {
        clear();
        if (r.expired > 0 || r.deleted > 0 || !dryRun) io.err(categoryLine(category, r, dryRun));
        return;
      }
      if (dryRun) return;
      if (tty) {
        const width = 24;
        const filled = r.expired > 0 ? Math.min(width, Math.round((r.deleted / r.expired) * width)) : 0;
        const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
        const line = `retention [${bar}] ${category} ${r.deleted}/${r.expired}`;
        tty.write(`\r\x1b[2K${line.slice(0, Math.max(20, (tty.columns ?? 80) - 1))}`);
        drawn = true;
      } else if (r.deleted > 0 && Date.now() - lastLine >= 2000) {
        lastLine = Date.now();
        io.err(`  ${category}: ${r.deleted}/${r.expired} deleted…`);
      }
    },
    end: clear,
  };
}

export const defineRetention: CliDefinition = (program, h) => {
  program
    .command('retention')
    .description('storage limitation: sweep data past its retention period (README "Retention")')
    .command('run')
    .description('run the retention sweep now (the scheduled job does the same hourly)')
    .option('--dry-run', 'count what is past its retention; delete nothing')
    .action(async (o: { dryRun?: boolean }) => {
      const dryRun = o.dryRun === true;
      const token = crypto.randomUUID();
      const display = progressDisplay(h.io, process.stderr.isTTY ? process.stderr : undefined, dryRun);
      progressListeners.set(token, display.listener);
      try {
        h.setExitCode(await h.runStore('retention.run', { dryRun, progress: token }));
      } finally {
        display.end();
        progressListeners.delete(token);
      }
    });
};
