import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pendingShreds, rotateKeys, VERSIONED_PURPOSES } from '../../modules/keys/index.js';
import { ok } from '../command.js';
import type { CliDefinition } from '../main.js';
import { registerStoreCommand } from '../registry.js';
import { defineHmacKeyCommands } from './keys-hmac.js';
import { controlsFor, withRunControls } from './run-controls.js';

/** Exit code of a rotation stopped by Ctrl-C (128 + SIGINT): progress is saved, run it again to resume. */
const EXIT_INTERRUPTED = 130;

registerStoreCommand('keys.rotate', async (ctx, args) => {
  const controls = controlsFor(args);
  const report = await rotateKeys(
    { keyStore: ctx.keyStore, keyring: ctx.keyring, clock: ctx.clock },
    {
      batchSize: typeof args.batchSize === 'number' ? args.batchSize : undefined,
      signal: controls.signal,
      onProgress: (p) => {
        const line = `keys rotate: ${p.rewrapped}/${p.total} re-wrapped (batch ${p.batches})`;
        if (controls.progress) controls.progress(line);
        else ctx.logger.info({ rewrapped: p.rewrapped, total: p.total, batches: p.batches }, 'key rotation');
      },
    },
  );
  const notes =
    report.status === 'completed'
      ? [
          `keys rotate: ${report.rewrapped} keys re-wrapped under ${report.masterVersion} in ${(report.durationMs / 1000).toFixed(1)} s (${report.keysPerSecond}/s)${report.resumed ? ', resumed' : ''}`,
          'every key is under the current master key: the old one is no longer needed (remove FLOWGUARD_MASTER_KEY_PREVIOUS, destroy its copies)',
        ]
      : [
          `keys rotate: interrupted after ${report.rewrappedTotal} keys; ${report.remaining} left. Run it again to resume.`,
        ];
  return { exitCode: report.status === 'completed' ? 0 : EXIT_INTERRUPTED, output: report, notes };
});

registerStoreCommand('keys.status', async (ctx) => {
  const store = ctx.keyStore;
  const rotation = await store.getRotation();
  return ok({
    key_store: { kind: store.kind, location: store.location, separate_from_database: store.separate },
    master_version: ctx.keyring.masterVersion,
    keys: await store.count(),
    keys_under_older_master: await store.countNotAt(ctx.keyring.masterVersion),
    erasure_journal: await store.journalSize(),
    shreds_pending: await pendingShreds(ctx.database.db),
    blind_index_version: ctx.keyring.hmacVersion('blind-index'),
    audit_key_version: ctx.keyring.hmacVersion('audit-subject'),
    hmac_versions: Object.fromEntries(
      VERSIONED_PURPOSES.map((p) => [
        p,
        ctx.keyring.hmacVersions(p).map((v) => ({
          version: v.version,
          active_from: v.activeFrom?.toISOString() ?? null,
        })),
      ]),
    ),
    rotation: rotation ?? null,
  });
});

/**
 * `keys generate`: an RSA-2048 pair for the Flows endpoint, written as private.pem (PKCS#8, 0600, encrypted
 * with FLOWS_PRIVATE_KEY_PASSPHRASE when that is set) and public.pem, plus the Graph API call that uploads it.
 */
export const defineKeys: CliDefinition = (program, h) => {
  const keys = program
    .command('keys')
    .description('key material: the Flows endpoint key pair, master key rotation, HMAC key versions');
  keys
    .command('generate')
    .description('write an RSA-2048 key pair and print the public key with its upload command')
    .option('--out <dir>', 'directory to write private.pem and public.pem into', '.')
    .option('--force', 'overwrite existing files')
    .action((o: { out: string; force?: boolean }) => {
      const dir = path.resolve(h.io.cwd, o.out);
      const passphrase = h.io.env.FLOWS_PRIVATE_KEY_PASSPHRASE || undefined;
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const privatePem = privateKey
        .export(
          passphrase
            ? { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }
            : { type: 'pkcs8', format: 'pem' },
        )
        .toString();
      const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      fs.mkdirSync(dir, { recursive: true });
      const flag = o.force ? 'w' : 'wx';
      const privFile = path.join(dir, 'private.pem');
      const pubFile = path.join(dir, 'public.pem');
      try {
        fs.writeFileSync(privFile, privatePem, { mode: 0o600, flag });
        fs.writeFileSync(pubFile, publicPem, { mode: 0o644, flag });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          h.io.err(`flowguard: ${privFile} or ${pubFile} exists; pass --force to replace it`);
          h.setExitCode(1);
          return;
        }
        throw err;
      }
      h.io.out(publicPem.trimEnd());
      h.io.err(
        [
          `wrote ${privFile} (${passphrase ? 'encrypted with FLOWS_PRIVATE_KEY_PASSPHRASE' : 'unencrypted'}, mode 0600) and ${pubFile}`,
          `use it with: FLOWS_PRIVATE_KEY_FILE=${privFile}`,
          'upload the public key once per phone number:',
          '  curl -X POST "https://graph.facebook.com/v23.0/$WHATSAPP_PHONE_NUMBER_ID/whatsapp_business_encryption" \\',
          '    -H "Authorization: Bearer $WHATSAPP_ACCESS_TOKEN" \\',
          `    --data-urlencode "business_public_key=$(cat ${pubFile})"`,
        ].join('\n'),
      );
    });
  keys
    .command('rotate')
    .description(
      're-wrap every data key under the current FLOWGUARD_MASTER_KEY (old one in FLOWGUARD_MASTER_KEY_PREVIOUS), online; resumes after an interruption',
    )
    .option(
      '--batch-size <n>',
      'keys per batch (progress is saved after each)',
      (v) => Number.parseInt(v, 10),
      1000,
    )
    .action(async (o: { batchSize: number }) => {
      const code = await withRunControls(
        (line) => h.io.err(line),
        (token) => h.runStore('keys.rotate', { batchSize: o.batchSize, controls: token }),
      );
      h.setExitCode(code);
    });
  keys
    .command('status')
    .description(
      'where the keys are, how many, their master key version, pending shreds and rotation progress',
    )
    .action(async () => h.setExitCode(await h.runStore('keys.status', {})));
  defineHmacKeyCommands(keys, h);
};
