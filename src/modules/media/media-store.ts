import type { Readable } from 'node:stream';

/**
 * Where stored media files live: opaque, already-encrypted objects named `<tenant>/<random id>` (the name is
 * `media.storage_key`; nothing personal). The filesystem implementation is the embedded default; an object
 * store (S3, Azure Blob) can implement the same port.
 */
export interface MediaStore {
  readonly kind: 'filesystem';
  /** A fresh, unguessable object name for a tenant. */
  newKey(tenantId: string): string;
  /** Write (or overwrite) an object from a stream; resolves once it is durable, leaves nothing behind on error. */
  put(key: string, body: Readable): Promise<void>;
  /** Read an object; undefined when it does not exist. */
  get(key: string): Promise<Readable | undefined>;
  /** Delete an object and any partial upload of it. Idempotent: false when nothing was there. */
  delete(key: string): Promise<boolean>;
  exists(key: string): Promise<boolean>;
}

const KEY = /^[a-z0-9][a-z0-9_-]{0,62}\/[0-9a-f]{32}$/;

/** Object names are generated here and checked on every use, so a bad one can never address another path. */
export function assertMediaKey(key: string): void {
  if (!KEY.test(key)) throw new Error('invalid media storage key');
}
