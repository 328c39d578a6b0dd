import type { Command } from 'commander';
import type { AppContext } from '../../app/context.js';
import {
  parseVersionedPurpose,
  reindexHmac,
  retireHmacVersion,
  startHmacVersion,
  VERSIONED_PURPOSES,
  type ReindexReport,
} from '../../modules/keys/index.js';
import { ok, type CommandResult } from '../command.js';
import type { CliHelpers } from '../main.js';
import { registerStoreCommand } from '../registry.js';
import { controlsFor, withRunControls, type RunControls } from './run-controls.js';

/**
 * HMAC key versions (README "Backups and keys", ADR 0003): start a new version of the blind-index, audit or
 * event-id key, move rows written under older versions to it, and destroy an old version once nothing needs it.
 */

const EXIT_INTERRUPTED = 130;

async function systemTenant(ctx: AppContext): Promise<string> {
  const tenants = await ctx.tenants.all();
  return tenants.find((t) => t.isDefault)?.id ?? tenants[0]?.id ?? 'default';
}

const deps = async (ctx: AppContext) => ({
  db: ctx.database.db,
  keyring: ctx.keyring,
  keyStore: ctx.keyStore,
  subjectKeys: ctx.subjectKeys,
  tenantId: await systemTenant(ctx),
  clock: ctx.clock,
});

const batchSizeOf = (args: Record<string, unknown>) =>
  typeof args.batchSize === 'number' ? args.batchSize : undefined;

async function reindex(
  ctx: AppContext,
  args: Record<string, unknown>,
  controls: RunControls,
): Promise<ReindexReport> {
  return reindexHmac(await deps(ctx), {
    purpose: parseVersionedPurpose(args.purpose),
    batchSize: batchSizeOf(args),
    signal: controls.signal,
    onProgress: (p) => {
      const line = `keys reindex-hmac: ${p.moved} rows moved (${p.step}, batch ${p.batches})`;
      if (controls.progress) controls.progress(line);
      else ctx.logger.info({ moved: p.moved, step: p.step, batches: p.batches }, 'hmac re-index');
    },
  });
}

function reindexResult(report: ReindexReport, extra: Record<string, unknown> = {}): CommandResult {
  const left = Object.entries(report.remaining).map(([version, usage]) => {
    const n = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    return `${version}: ${n(usage.blocking)} rows still to move or expire, ${n(usage.unindexable)} without plaintext`;
  });
  const notes =
    report.status === 'completed'
      ? [
          `keys reindex-hmac: ${report.purpose} rows moved to ${report.version}: ${JSON.stringify(report.moved)}`,
          ...left.map((l) => `  ${l}`),
        ]
      : ['keys reindex-hmac: interrupted; run it again to carry on'];
  return {
    exitCode: report.status === 'completed' ? 0 : EXIT_INTERRUPTED,
    output: { ...extra, reindex: report },
    notes,
  };
}

registerStoreCommand('keys.hmac.new', async (ctx, args) => {
  const controls = controlsFor(args);
  const started = await startHmacVersion(await deps(ctx), {
    purpose: parseVersionedPurpose(args.purpose),
    activateInSeconds: typeof args.activateIn === 'number' ? args.activateIn : undefined,
  });
  const note = `keys new-hmac-version: ${started.purpose} ${started.version} started; new values use it from ${started.activeFrom.toISOString()} (held: ${started.held.join(', ')})`;
  if (args.reindex === false) {
    return ok(started, [note, `then: flowguard keys reindex-hmac --purpose ${started.purpose}`]);
  }
  // Other instances hold it for lookups before anyone writes it; the re-index starts once it is written.
  controls.progress?.(`${note}; re-indexing then (Ctrl-C leaves that to keys reindex-hmac)`);
  while (Date.now() < started.activeFrom.getTime()) {
    if (controls.signal?.aborted) return { exitCode: EXIT_INTERRUPTED, output: started, notes: [note] };
    await new Promise((r) => setTimeout(r, Math.min(1000, started.activeFrom.getTime() - Date.now())));
  }
  const result = reindexResult(await reindex(ctx, args, controls), { started });
  return { ...result, notes: [note, ...(result.notes ?? [])] };
});

registerStoreCommand('keys.hmac.reindex', async (ctx, args) =>
  reindexResult(await reindex(ctx, args, controlsFor(args))),
);

registerStoreCommand('keys.hmac.retire', async (ctx, args) => {
  const retired = await retireHmacVersion(await deps(ctx), {
    purpose: parseVersionedPurpose(args.purpose),
    version: String(args.version),
    forgetUnindexable: args.forgetUnindexable === true,
  });
  return ok(retired, [
    `keys retire-hmac-version: ${retired.purpose} ${retired.version} destroyed; references made under it are anonymous now`,
  ]);
});

const purposeHelp = `key purpose: ${VERSIONED_PURPOSES.join(' | ')}`;
const int = (v: string) => Number.parseInt(v, 10);

/** `keys new-hmac-version`, `keys reindex-hmac`, `keys retire-hmac-version`. */
export function defineHmacKeyCommands(keys: Command, h: CliHelpers): void {
  const run = (name: string, args: Record<string, unknown>) =>
    withRunControls(
      (line) => h.io.err(line),
      (token) => h.runStore(name, { ...args, controls: token }),
    );
  keys
    .command('new-hmac-version')
    .description(
      'start a new version of an HMAC key (new values use it; lookups find every held version), then re-index',
    )
    .requiredOption('--purpose <purpose>', purposeHelp)
    .option(
      '--activate-in <seconds>',
      'hold it for lookups this long before writing it (default: 0 embedded, 120 with a shared PostgreSQL key store)',
      int,
    )
    .option('--no-reindex', 'only start the version (run keys reindex-hmac later)')
    .option('--batch-size <n>', 'rows per re-index batch', int, 500)
    .action(async (o: { purpose: string; activateIn?: number; reindex: boolean; batchSize: number }) =>
      h.setExitCode(
        await run('keys.hmac.new', {
          purpose: o.purpose,
          activateIn: o.activateIn,
          reindex: o.reindex,
          batchSize: o.batchSize,
        }),
      ),
    );
  keys
    .command('reindex-hmac')
    .description(
      'move rows written under older versions of an HMAC key to the current one (online, resumable)',
    )
    .requiredOption('--purpose <purpose>', purposeHelp)
    .option('--batch-size <n>', 'rows per batch', int, 500)
    .action(async (o: { purpose: string; batchSize: number }) =>
      h.setExitCode(await run('keys.hmac.reindex', { purpose: o.purpose, batchSize: o.batchSize })),
    );
  keys
    .command('retire-hmac-version')
    .description('destroy an old version of an HMAC key; refused while rows still use it')
    .requiredOption('--purpose <purpose>', purposeHelp)
    .requiredOption('--version <version>', 'the version to destroy, e.g. b1')
    .option(
      '--forget-unindexable',
      'also delete entries kept without plaintext under it (STOPs of erased people, re-engagement hashes)',
    )
    .action(async (o: { purpose: string; version: string; forgetUnindexable?: boolean }) =>
      h.setExitCode(
        await h.runStore('keys.hmac.retire', {
          purpose: o.purpose,
          version: o.version,
          forgetUnindexable: o.forgetUnindexable === true,
        }),
      ),
    );
}
