import { createContext } from '../../app/context.js';
import { startupBanner } from '../../app/banner.js';
import { buildServer } from '../../app/server.js';
import { startWorkers } from '../../app/workers.js';
import type { Config } from '../../config/config.js';
import { listenAdminSocket } from '../admin-socket.js';
import type { CliIo } from '../io.js';

export interface ServeOptions {
  port?: number | undefined;
  host?: string | undefined;
  http: boolean;
}

/** `serve` (HTTP + workers) and `worker` (workers only). Runs until SIGTERM/SIGINT, then drains and exits 0. */
export async function serve(config: Config, io: CliIo, opts: ServeOptions): Promise<number> {
  const started = Date.now();
  const ctx = await createContext(config, { work: true });
  const closeSocket = ctx.database.kind === 'pglite' ? await listenAdminSocket(ctx) : async () => {};
  const app = opts.http ? await buildServer(ctx) : undefined;
  await startWorkers(ctx);
  if (app) {
    const port = opts.port ?? config.server.port;
    const host = opts.host ?? config.server.host;
    await app.listen({ port, host });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const scheme = config.server.tls ? 'https' : 'http';
    const base =
      config.server.publicUrl ?? `${scheme}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    // The banner is for people; stdout stays pure JSON log lines for collectors.
    io.err(await startupBanner(ctx, base.replace(/\/+$/, '')));
    ctx.logger.info({ port: actualPort, startupMs: Date.now() - started }, 'flowguard started');
  } else {
    ctx.logger.info({ startupMs: Date.now() - started }, 'flowguard worker started');
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      ctx.logger.info({ signal }, 'shutting down');
      void (async () => {
        try {
          await app?.close();
          await closeSocket();
          await ctx.close();
          resolve(0);
        } catch (err) {
          ctx.logger.error({ err }, 'shutdown failed');
          resolve(1);
        }
      })();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
