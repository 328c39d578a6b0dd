import { Redis } from 'ioredis';
import { classify, PermanentError, RetryableError } from '../errors.js';

/** Server replies that a later attempt can get past (loading a dump, a busy script, a failover). */
const RETRYABLE_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/;

/**
 * Classify what ioredis threw. Connection trouble (refused, closed, reset, timed out — ioredis reports a refused
 * connection as "Connection is closed.") retries; a server reply such as WRONGPASS, NOPERM or WRONGTYPE is
 * permanent. Messages keep only the reply's code: a reply can quote a key.
 */
function redisError(err: unknown): RetryableError | PermanentError {
  if (err instanceof RetryableError || err instanceof PermanentError) return err;
  const e = err as { name?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  if (e?.name === 'ReplyError') {
    const code = (/^[A-Z]+/.exec(message)?.[0] ?? 'error').toLowerCase();
    if (/^(MOVED|ASK)\b/.test(message)) return new PermanentError('redis_cluster_unsupported');
    return RETRYABLE_REPLIES.test(message)
      ? new RetryableError(`redis_${code}`)
      : new PermanentError(`redis_${code}`);
  }
  if (e?.name === 'MaxRetriesPerRequestError') return new RetryableError('redis_unavailable');
  const c = classify(err);
  if (c instanceof RetryableError) return c;
  if (/Connection is closed|Stream isn't writeable|Command timed out|ETIMEDOUT|ECONNRESET/i.test(message)) {
    return new RetryableError('redis_unavailable');
  }
  return c;
}

/**
 * One lazily connected ioredis client that fails fast: connect timeout 5 s, one try per command, no offline
 * queue and no background reconnecting — an unreachable Redis fails the call with a RetryableError and the
 * next call connects afresh (flowguard's queue does the retrying). Errors are never logged here: the URL may
 * hold a password.
 */
export function createRedisClient(url: string) {
  let client: Redis | undefined;
  let connecting: Promise<Redis> | undefined;

  function connect(): Promise<Redis> {
    if (client?.status === 'ready') return Promise.resolve(client);
    client?.disconnect();
    client = undefined;
    connecting ??= (async () => {
      const c = new Redis(url, {
        lazyConnect: true,
        connectTimeout: 5_000,
        commandTimeout: 15_000,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      // Surfaced to the caller by the failing call; an unhandled 'error' event would crash the process.
      let refused: unknown;
      c.on('error', (err: unknown) => {
        if ((err as { name?: unknown } | undefined)?.name === 'ReplyError') refused = err;
      });
      try {
        await c.connect();
      } catch (err) {
        c.disconnect();
        // A rejected AUTH/HELLO/SELECT closes the connection: report the server's reply, not the close.
        throw redisError(refused ?? err);
      }
      client = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  return {
    /** Run commands on a connected client; failures come back classified. */
    async run<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
      try {
        return await fn(await connect());
      } catch (err) {
        const c = redisError(err);
        if (c instanceof RetryableError) {
          client?.disconnect();
          client = undefined;
        }
        throw c;
      }
    },
    async close(): Promise<void> {
      const c = client;
      client = undefined;
      if (c) await c.quit().catch(() => c.disconnect());
    },
  };
}
