import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The dashboard at `/admin`: the Vite build (`dist/web`, made by `npm run build`) served from memory.
 * Hashed files under `/admin/assets/` are cached for a year (immutable); `index.html` is revalidated every time
 * so a new build is picked up at once. Every response carries a strict Content-Security-Policy: scripts, styles
 * and fetches from this origin only (no CDN, no inline script or style), no framing. Unknown paths below
 * `/admin` (other than `/admin/api`) get `index.html`, so a reload of a dashboard screen works.
 */

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** `dist/web` from both `src/modules/admin` (tests) and `dist/modules/admin` (the build). */
export function defaultWebDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fromSrc = path.resolve(here, '../../../dist/web');
  const fromDist = path.resolve(here, '../../web');
  return here.split(path.sep).includes('dist') ? fromDist : fromSrc;
}

interface WebFile {
  body: Buffer;
  type: string;
}

function readTree(dir: string): Map<string, WebFile> | undefined {
  if (!fs.existsSync(path.join(dir, 'index.html'))) return undefined;
  const files = new Map<string, WebFile>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile()) {
        const type = TYPES[path.extname(entry.name)] ?? 'application/octet-stream';
        files.set(rel, { body: fs.readFileSync(path.join(dir, rel)), type });
      }
    }
  };
  walk('');
  return files;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin');
}

export function registerWebRoutes(app: FastifyInstance, opts: { dir?: string } = {}): void {
  const dir = opts.dir ?? defaultWebDir();
  let files = readTree(dir);
  // A build made after start (e.g. `npm run build` while serving) is picked up on the next request.
  const current = () => (files ??= readTree(dir));

  const sendIndex = (reply: FastifyReply) => {
    const index = current()?.get('index.html');
    securityHeaders(reply).header('cache-control', 'no-cache');
    if (!index) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The dashboard is not built: run `npm run build`.\n');
    }
    return reply.type(index.type).send(index.body);
  };

  app.get('/admin', (_req, reply) => reply.redirect('/admin/', 302));
  app.get('/admin/', (_req, reply) => sendIndex(reply));
  app.get('/admin/*', (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    if (rel === 'api' || rel.startsWith('api/')) {
      return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    }
    const file = rel.includes('..') ? undefined : current()?.get(rel);
    if (!file) {
      // A missing hashed asset is a 404 (never index.html under a script's name); anything else is a screen.
      if (rel.startsWith('assets/') || path.extname(rel) !== '') {
        return securityHeaders(reply).code(404).type('text/plain; charset=utf-8').send('not found\n');
      }
      return sendIndex(reply);
    }
    securityHeaders(reply).header(
      'cache-control',
      rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    return reply.type(file.type).send(file.body);
  });
}
