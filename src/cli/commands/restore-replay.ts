import { replayErasures, shredPendingKeys } from '../../modules/keys/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';

/**
 * `flowguard restore-replay [--dry-run]`: after restoring a database backup, erase again everyone the key
 * store's erasure journal lists (the journal lives with the keys, not in the restored database). Run it
 * before `serve`; the report holds counts only.
 */
registerStoreCommand('restore.replay', async (ctx, args) => {
  const dryRun = args.dryRun === true;
  const report = await replayErasures(
    { db: ctx.database.db, keyring: ctx.keyring, keyStore: ctx.keyStore, clock: ctx.clock },
    { dryRun, batchSize: typeof args.batchSize === 'number' ? args.batchSize : undefined },
  );
  const shredded = dryRun
    ? 0
    : await shredPendingKeys({ db: ctx.database.db, keyring: ctx.keyring, keyStore: ctx.keyStore });
  const notes = [
    dryRun
      ? `restore-replay (dry run): ${report.erased} of ${report.scanned} subjects were erased after this backup; nothing changed`
      : `restore-replay: ${report.erased} of ${report.scanned} subjects erased again (journal: ${report.journalEntries} entries)`,
  ];
  if (report.missingKeys > 0) {
    notes.push(
      `restore-replay: ${report.missingKeys} subjects have no key and no journal entry: their data cannot be read (was the key store restored from an older backup?)`,
    );
  }
  if (!ctx.keyStore.separate) {
    notes.push(
      'restore-replay: the key store shares this database (FLOWGUARD_KEYSTORE_URL unset), so its journal was restored with it and cannot know of later erasures',
    );
  }
  return ok({ ...report, journalShredded: shredded }, notes);
});

export const defineRestoreReplay: CliDefinition = (program, h) => {
  program
    .command('restore-replay')
    .description(
      'after restoring a database backup: erase again everyone erased since (from the key store journal)',
    )
    .option('--dry-run', 'count only')
    .option('--batch-size <n>', 'subjects per batch', (v) => Number.parseInt(v, 10), 500)
    .action(async (o: { dryRun?: boolean; batchSize: number }) =>
      h.setExitCode(
        await h.runStore('restore.replay', { dryRun: o.dryRun === true, batchSize: o.batchSize }),
      ),
    );
};
