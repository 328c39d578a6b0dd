import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Meta's Graph API, written from its documented contract for
 * `POST /{version}/{phone_number_id}/messages`: bearer token required; the answer is
 * `{messaging_product, contacts:[{input, wa_id}], messages:[{id}]}`; errors are `{error:{message, type, code}}`.
 * Media ("Media" in the Cloud API reference): `GET /{version}/{media-id}` with the bearer token answers
 * `{messaging_product, url, mime_type, sha256, file_size, id}`; `GET <url>` with the bearer token answers the
 * bytes; an unknown or expired media id is a 404.
 */
export interface SentMessage {
  phoneNumberId: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface FakeMediaRequest {
  kind: 'retrieve' | 'download';
  mediaId: string;
  authorized: boolean;
}

export interface FakeGraph {
  url: string;
  sent: SentMessage[];
  /** Make the next N sends fail with this status and Graph error code. */
  failNext(n: number, status: number, code: number): void;
  /** Media that `GET /{media-id}` knows. `sha256` is what the retrieve answer claims (default: the real one, hex). */
  addMedia(id: string, bytes: Buffer, opts?: { mimeType?: string; sha256?: string }): void;
  /** Forget a media id (as after its 7 days): retrieve and download answer 404. */
  expireMedia(id: string): void;
  /** Every media request, in order. */
  mediaRequests: FakeMediaRequest[];
  /** Make the next N media retrieve calls fail with this status. */
  failMediaNext(n: number, status: number): void;
  /** Run `fn` before the next download answers (e.g. to erase the person while the file is on its way). */
  beforeNextDownload(fn: () => Promise<void>): void;
  close(): Promise<void>;
}

export async function startFakeGraph(
  version = 'v23.0',
  accessToken = 'test-access-token',
): Promise<FakeGraph> {
  const sent: SentMessage[] = [];
  let failures: { left: number; status: number; code: number } | undefined;
  let mediaFailures: { left: number; status: number } | undefined;
  const media = new Map<string, { bytes: Buffer; mimeType: string; sha256: string; path: string }>();
  const mediaRequests: FakeMediaRequest[] = [];
  let beforeDownload: (() => Promise<void>) | undefined;
  let counter = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'GET') return serveMedia(req, res, reply);
      const m = new RegExp(`^/${version}/(\\d+)/messages$`).exec(req.url ?? '');
      if (req.method !== 'POST' || !m)
        return reply(404, { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } });
      if (req.headers.authorization !== `Bearer ${accessToken}`) {
        return reply(401, {
          error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 },
        });
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return reply(400, { error: { message: 'Invalid JSON', type: 'OAuthException', code: 100 } });
      }
      if (body.messaging_product !== 'whatsapp' || (!body.to && !body.recipient)) {
        return reply(400, { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100 } });
      }
      if (failures && failures.left > 0) {
        failures.left--;
        return reply(failures.status, {
          error: { message: 'Failure', type: 'OAuthException', code: failures.code },
        });
      }
      sent.push({ phoneNumberId: m[1]!, authorization: req.headers.authorization, body });
      counter++;
      return reply(200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: String(body.to ?? body.recipient), wa_id: String(body.to ?? '') }],
        messages: [{ id: `wamid.FAKE${counter}` }],
      });
    });
  });
  const notFound = {
    error: { message: 'Object does not exist or has expired', type: 'GraphMethodException', code: 100 },
  };
  function serveMedia(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    reply: (status: number, body: unknown) => void,
  ) {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const authorized = req.headers.authorization === `Bearer ${accessToken}`;
    const download = /^\/media-download\/([A-Za-z0-9]+)\/([0-9a-f]+)$/.exec(path);
    const retrieve = new RegExp(`^/${version}/([A-Za-z0-9]+)$`).exec(path);
    const mediaId = download?.[1] ?? retrieve?.[1];
    if (!mediaId) return reply(404, notFound);
    mediaRequests.push({ kind: download ? 'download' : 'retrieve', mediaId, authorized });
    if (!authorized)
      return reply(401, {
        error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 },
      });
    if (retrieve && mediaFailures && mediaFailures.left > 0) {
      mediaFailures.left--;
      return reply(mediaFailures.status, { error: { message: 'Failure', type: 'OAuthException', code: 2 } });
    }
    const item = media.get(mediaId);
    if (!item || (download && download[2] !== item.path)) return reply(404, notFound);
    if (download && beforeDownload) {
      const fn = beforeDownload;
      beforeDownload = undefined;
      // A failing hook still answers: the test asserts on what the hook recorded.
      void fn()
        .catch(() => undefined)
        .finally(() =>
          res
            .writeHead(200, { 'content-type': item.mimeType, 'content-length': String(item.bytes.length) })
            .end(item.bytes),
        );
      return;
    }
    if (download) {
      return res
        .writeHead(200, { 'content-type': item.mimeType, 'content-length': String(item.bytes.length) })
        .end(item.bytes);
    }
    return reply(200, {
      messaging_product: 'whatsapp',
      url: `http://127.0.0.1:${port}/media-download/${mediaId}/${item.path}`,
      mime_type: item.mimeType,
      sha256: item.sha256,
      file_size: item.bytes.length,
      id: mediaId,
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${version}`,
    sent,
    failNext(n, status, code) {
      failures = { left: n, status, code };
    },
    addMedia(id, bytes, opts = {}) {
      media.set(id, {
        bytes,
        mimeType: opts.mimeType ?? 'image/jpeg',
        sha256: opts.sha256 ?? crypto.createHash('sha256').update(bytes).digest('hex'),
        path: crypto.randomBytes(8).toString('hex'),
      });
    },
    expireMedia(id) {
      media.delete(id);
    },
    mediaRequests,
    failMediaNext(n, status) {
      mediaFailures = { left: n, status };
    },
    beforeNextDownload(fn) {
      beforeDownload = fn;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
