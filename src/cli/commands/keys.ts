import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { CliDefinition } from '../main.js';

/**
 * `keys generate`: an RSA-2048 pair for the Flows endpoint, written as private.pem (PKCS#8, 0600, encrypted
 * with FLOWS_PRIVATE_KEY_PASSPHRASE when that is set) and public.pem, plus the Graph API call that uploads it.
 */
export const defineKeys: CliDefinition = (program, h) => {
  const keys = program.command('keys').description('key material for the Flows endpoint');
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
};
