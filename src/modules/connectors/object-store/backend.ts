/**
 * What the object-store connector needs from one bucket (S3) or container (Azure Blob). A backend owns its
 * client, and throws only RetryableError or PermanentError — never a client library's own error, whose
 * message may carry an object key (and so an identifier).
 */
export interface StoredObject {
  key: string;
  size?: number | undefined;
  lastModified?: string | undefined;
}

export interface ObjectBackend {
  /** Pages (up to 1,000 objects each) of the objects whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<StoredObject[]>;
  /** The object, or undefined when there is none. */
  head(key: string): Promise<StoredObject | undefined>;
  /** Delete these keys (in batches); returns how many were deleted. Throws when any key failed. */
  remove(keys: string[]): Promise<number>;
  /** Throws when the bucket/container is unreachable or missing; returns configuration warnings. */
  probe(): Promise<string[]>;
  close(): Promise<void>;
}

/** Run `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
