import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/**
 * Meta's documented media download (Cloud API "Media"): `GET /{media-id}` with the business's bearer token
 * answers `{messaging_product, url, mime_type, sha256, file_size, id}`; `GET <url>` with the same bearer token
 * answers the bytes. The URL lives 5 minutes, a webhook's media id 7 days; files are at most 100 MB.
 */

/** Why a media file is not stored, for good (no retry): codes only, never the media id or the URL. */
export type MediaDropReason =
  | 'not_found'
  | 'rejected'
  | 'expired'
  | 'too_large'
  | 'sha256_mismatch'
  | 'untrusted_url'
  | 'bad_answer'
  | 'no_access_token'
  | 'subject_gone';

/** A download failure: `permanent` ones are dropped, the others retried by the queue. */
export class MediaFetchError extends Error {
  constructor(
    readonly reason: MediaDropReason | 'unavailable',
    readonly status: number,
    readonly permanent: boolean,
  ) {
    super(`media fetch failed: ${reason}${status ? ` (http ${status})` : ''}`);
    this.name = 'MediaFetchError';
  }
}

export interface MediaInfo {
  url: string;
  mimeType: string | undefined;
  sha256: string | undefined;
  fileSize: number | undefined;
}

/** Hosts Meta serves media from: the bearer token goes to these (https) or the Graph URL's own origin, nowhere else. */
const META_MEDIA_HOSTS = ['.fbsbx.com', '.facebook.com', '.fbcdn.net', '.whatsapp.net'];

export function isTrustedMediaUrl(url: string, graphBaseUrl: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.origin === new URL(graphBaseUrl).origin) return true;
  return u.protocol === 'https:' && META_MEDIA_HOSTS.some((h) => u.hostname.endsWith(h));
}

function failure(status: number): MediaFetchError {
  // 404/400/410: unknown or expired media id (or URL); 401/403 (token) and 429/5xx are worth retrying: a token
  // fixed by the operator makes a dead-lettered job replayable.
  if (status === 404 || status === 400 || status === 410)
    return new MediaFetchError('not_found', status, true);
  if (status === 401 || status === 403 || status === 408 || status === 429 || status >= 500)
    return new MediaFetchError('unavailable', status, false);
  return new MediaFetchError('rejected', status, true);
}

export interface GraphMediaClient {
  retrieve(mediaId: string, accessToken: string): Promise<MediaInfo>;
  /** The file's bytes as a stream; refuses untrusted URLs and announced sizes above `maxBytes`. */
  download(url: string, accessToken: string, maxBytes: number): Promise<Readable>;
}

export function createGraphMediaClient(opts: {
  baseUrl: string;
  timeoutMs?: number;
  /** The whole download, body included (the URL itself lives 5 minutes). */
  downloadTimeoutMs?: number;
  fetchImpl?: typeof fetch;
}): GraphMediaClient {
  const doFetch = opts.fetchImpl ?? fetch;
  const get = async (url: string, accessToken: string, timeoutMs: number): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: { authorization: `Bearer ${accessToken}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new MediaFetchError('unavailable', 0, false);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw failure(res.status);
    }
    return res;
  };
  return {
    async retrieve(mediaId, accessToken) {
      const res = await get(
        `${opts.baseUrl}/${encodeURIComponent(mediaId)}`,
        accessToken,
        opts.timeoutMs ?? 10_000,
      );
      const json = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      if (!json || typeof json.url !== 'string') throw new MediaFetchError('bad_answer', res.status, true);
      const size = Number(json.file_size);
      return {
        url: json.url,
        mimeType: typeof json.mime_type === 'string' ? json.mime_type : undefined,
        sha256: typeof json.sha256 === 'string' ? json.sha256 : undefined,
        fileSize: json.file_size !== undefined && Number.isFinite(size) ? size : undefined,
      };
    },
    async download(url, accessToken, maxBytes) {
      if (!isTrustedMediaUrl(url, opts.baseUrl)) throw new MediaFetchError('untrusted_url', 0, true);
      const res = await get(url, accessToken, opts.downloadTimeoutMs ?? 5 * 60_000);
      const announced = Number(res.headers.get('content-length') ?? NaN);
      if (announced > maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw new MediaFetchError('too_large', res.status, true);
      }
      if (!res.body) return Readable.from([]);
      return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    },
  };
}
