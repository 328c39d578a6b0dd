import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../app/context.js';
import type { DsrDeps } from './dsr.types.js';
import { verifyExportToken } from './export-links.js';
import { exportRequest } from './export-request.js';
import { sendExport } from './requests.routes.js';

/**
 * `GET /exports/:token`: the person's own download of their access bundle, from the link flowguard sent them.
 * No API key: the signed, expiring token is the authorisation (404 when forged, 410 once expired). Every
 * download is audited as the subject's.
 */
export function registerExportRoutes(
  app: FastifyInstance,
  ctx: Pick<AppContext, 'database' | 'keyring' | 'clock'>,
  deps: DsrDeps,
): void {
  app.get('/exports/:token', async (req, reply) => {
    const claims = verifyExportToken(ctx.keyring, (req.params as { token: string }).token, ctx.clock());
    const q = req.query as Record<string, string | undefined>;
    const out = await exportRequest(ctx.database.db, deps, {
      requestId: claims.requestId,
      actor: { type: 'subject' },
      format: q.format,
      category: q.category,
    });
    void reply.header('referrer-policy', 'no-referrer');
    return sendExport(reply, out);
  });
}
