import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { SystemSpec } from '../../../config/datamap.js';
import { mapLimit, type ObjectBackend, type StoredObject } from '../object-store/backend.js';
import { azureError } from './azure-errors.js';

export type AzureBlobSpec = Extract<SystemSpec, { type: 'azure-blob' }>;

const PAGE = 1000;
/** Blobs deleted at once (one request each: works with every credential, unlike blob batch with a SAS). */
const DELETE_CONCURRENCY = 16;
/** One try per call (the queue retries with backoff), abandoned after this long. */
const TRY_TIMEOUT_MS = 15_000;

/**
 * One Azure Blob Storage container. Deleting a blob deletes its snapshots too (`deleteSnapshots: 'include'`).
 * Not erased here: previous blob versions when the account has versioning on, and soft-deleted blobs until the
 * retention period ends — `check()` warns when soft delete is on; versioning is an account setting that the
 * data plane cannot see.
 */
export function createAzureBackend(spec: AzureBlobSpec): ObjectBackend {
  const service = BlobServiceClient.fromConnectionString(spec.connectionString, {
    retryOptions: { maxTries: 1, tryTimeoutInMs: TRY_TIMEOUT_MS },
  });
  const container: ContainerClient = service.getContainerClient(spec.container);

  async function call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw azureError(err);
    }
  }

  /** 1 when deleted, 0 when it was already gone, or the classified error. */
  async function deleteOne(key: string): Promise<number | Error> {
    try {
      const res = await container.getBlobClient(key).deleteIfExists({ deleteSnapshots: 'include' });
      return res.succeeded ? 1 : 0;
    } catch (err) {
      return azureError(err);
    }
  }

  return {
    async *list(prefix: string): AsyncIterable<StoredObject[]> {
      const pages = container.listBlobsFlat({ prefix }).byPage({ maxPageSize: PAGE });
      for (;;) {
        const next = await call(() => pages.next());
        if (next.done) return;
        yield next.value.segment.blobItems.map((b) => ({
          key: b.name,
          size: b.properties.contentLength,
          lastModified: b.properties.lastModified?.toISOString(),
        }));
      }
    },

    async head(key: string): Promise<StoredObject | undefined> {
      try {
        const p = await container.getBlobClient(key).getProperties();
        return { key, size: p.contentLength, lastModified: p.lastModified?.toISOString() };
      } catch (err) {
        const e = err as { statusCode?: number; details?: { errorCode?: string } };
        if (e.statusCode === 404 && e.details?.errorCode !== 'ContainerNotFound') return undefined;
        throw azureError(err);
      }
    },

    async remove(keys: string[]): Promise<number> {
      const results = await mapLimit(keys, DELETE_CONCURRENCY, deleteOne);
      const failed = results.filter((r): r is Error => r instanceof Error);
      if (failed[0]) {
        failed[0].message = `${failed.length} of ${keys.length} blobs not deleted (${(failed[0] as { code?: string }).code})`;
        throw failed[0];
      }
      return results.reduce<number>((n, r) => n + (r as number), 0);
    },

    async probe(): Promise<string[]> {
      await call(() => container.getProperties());
      try {
        const props = await service.getProperties();
        const soft = props.deleteRetentionPolicy;
        if (soft?.enabled) {
          return [
            `blob soft delete is on: deleted blobs stay recoverable for ${soft.days ?? '?'} days before they are gone`,
          ];
        }
      } catch {
        // Needs account-level rights a container SAS does not give: nothing to warn about.
      }
      return [];
    },

    async close(): Promise<void> {
      // The SDK keeps no pool to close: its HTTP agent sockets end when idle.
    },
  };
}
