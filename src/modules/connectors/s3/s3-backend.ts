import {
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { SystemSpec } from '../../../config/datamap.js';
import type { ObjectBackend, StoredObject } from '../object-store/backend.js';
import { s3CodeError, s3Error } from './s3-errors.js';

export type S3Spec = Extract<SystemSpec, { type: 's3' }>;

/** DeleteObjects takes at most 1,000 keys; ListObjectsV2 returns at most 1,000 per page. */
const BATCH = 1000;

/** TCP connect 5 s; socket idle within a request 30 s (DeleteObjects of 1,000 keys can take seconds). */
const TIMEOUTS = { connectionTimeout: 5_000, requestTimeout: 30_000 };

/**
 * One S3 (or S3-compatible) bucket. One attempt per call (`maxAttempts: 1`): flowguard's queue retries with
 * backoff. Credentials from the data map, else the SDK's default chain (environment, instance role).
 * Checksums only where S3 requires them (`WHEN_REQUIRED`), which S3-compatible servers also accept.
 *
 * Versioned buckets: DeleteObjects without a VersionId only adds a delete marker — the earlier versions stay
 * and can be restored. Erasing them needs ListObjectVersions + DeleteObjects with VersionId; the test server
 * (s3rver) does not implement versioning, so this is not done here: `check()` warns when versioning is on, and
 * such a bucket needs a lifecycle rule expiring noncurrent versions (the window is documented in the proof).
 */
export function createS3Backend(spec: S3Spec): ObjectBackend {
  const client = new S3Client({
    region: spec.region,
    endpoint: spec.endpoint,
    forcePathStyle: spec.forcePathStyle,
    credentials:
      spec.accessKeyId && spec.secretAccessKey
        ? { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secretAccessKey }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: { ...TIMEOUTS },
  });
  const Bucket = spec.bucket;

  async function send<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw s3Error(err);
    }
  }

  return {
    async *list(prefix: string): AsyncIterable<StoredObject[]> {
      let token: string | undefined;
      do {
        const res = await send(() =>
          client.send(
            new ListObjectsV2Command({ Bucket, Prefix: prefix, MaxKeys: BATCH, ContinuationToken: token }),
          ),
        );
        yield (res.Contents ?? []).flatMap((o) =>
          o.Key ? [{ key: o.Key, size: o.Size, lastModified: o.LastModified?.toISOString() }] : [],
        );
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    },

    async head(key: string): Promise<StoredObject | undefined> {
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { key, size: res.ContentLength, lastModified: res.LastModified?.toISOString() };
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
          return undefined;
        }
        throw s3Error(err);
      }
    },

    async remove(keys: string[]): Promise<number> {
      let deleted = 0;
      for (let i = 0; i < keys.length; i += BATCH) {
        const batch = keys.slice(i, i + BATCH);
        const res = await send(() =>
          client.send(
            new DeleteObjectsCommand({
              Bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
          ),
        );
        // DeleteObjects answers 200 even when some keys failed: each error is per key.
        const errors = res.Errors ?? [];
        if (errors.length) {
          const first = s3CodeError(errors[0]?.Code ?? 'error');
          first.message = `${errors.length} of ${batch.length} objects not deleted (${first.code})`;
          throw first;
        }
        deleted += batch.length;
      }
      return deleted;
    },

    async probe(): Promise<string[]> {
      await send(() => client.send(new HeadBucketCommand({ Bucket })));
      try {
        const v = await client.send(new GetBucketVersioningCommand({ Bucket }));
        if (v.Status === 'Enabled' || v.Status === 'Suspended') {
          return [
            `bucket versioning is ${v.Status.toLowerCase()}: erasure leaves earlier versions; add a lifecycle rule expiring noncurrent versions`,
          ];
        }
      } catch {
        // Not implemented by some S3-compatible servers, or not permitted: nothing to warn about.
      }
      return [];
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
}
