import type { CliDefinition } from '../main.js';
import { serve } from './serve.js';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('--port must be 0-65535');
  return n;
};

export const defineServe: CliDefinition = (program, h) => {
  program
    .command('serve')
    .description('run the HTTP service and the workers')
    .option('--port <port>', 'port to listen on (PORT, default 8080)', port)
    .option('--host <host>', 'address to bind (HOST, default 127.0.0.1)')
    .action(async (o: { port?: number; host?: string }) => {
      h.setExitCode(await serve(h.config(), h.io, { port: o.port, host: o.host, http: true }));
    });
  program
    .command('worker')
    .description('run the workers only (scale-out on PostgreSQL)')
    .action(async () => {
      h.setExitCode(await serve(h.config(), h.io, { http: false }));
    });
};
