import type { AppContext } from '../../app/context.js';
import { KEY_REFRESH_SECONDS } from './hmac-versions.js';

/**
 * Serving processes that share a PostgreSQL key store re-read the purpose keys every KEY_REFRESH_SECONDS, so a
 * new HMAC version started by `keys new-hmac-version` elsewhere is held (and searched) here before it is
 * written anywhere, and a retired one is dropped. The embedded store has one process: nothing to re-read.
 */
export async function startKeyRefresh(ctx: AppContext): Promise<void> {
  if (ctx.keyStore.kind !== 'postgres') return;
  const timer = setInterval(() => {
    void ctx.keyStore
      .getMaterial()
      .then((material) => {
        if (material.length > 0) ctx.keyring.loadPurposeKeys(material);
      })
      .catch((err: unknown) => ctx.logger.warn({ err }, 'purpose keys not re-read from the key store'));
  }, KEY_REFRESH_SECONDS * 1000);
  timer.unref();
  ctx.queue.boss.once('stopped', () => clearInterval(timer));
}
