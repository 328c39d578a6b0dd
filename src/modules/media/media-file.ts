import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import type { AppContext } from '../../app/context.js';
import { createDecryptStream, type FieldCipher } from '../../lib/crypto/index.js';
import type { MediaStore } from './media-store.js';

/**
 * A stored media file is a segmented AES-256-GCM stream (lib/crypto/stream-cipher) under its own random key,
 * which is kept in the file's header wrapped by the sender's data key and bound to the media row. Once that
 * data key is shredded (erasure), the file, and every backup copy of it, is unreadable even if its deletion
 * job were lost.
 */
export const mediaFileAad = (rowId: string) => `media.file.${rowId}`;

export function wrapFileKey(cipher: FieldCipher, rowId: string, fileKey: Buffer): string {
  return cipher.encrypt(fileKey.toString('base64'), 'media', 'file_key', rowId);
}

function unwrapFileKey(cipher: FieldCipher, rowId: string, wrapped: string): Buffer {
  return Buffer.from(cipher.decrypt(wrapped, 'media', 'file_key', rowId), 'base64');
}

export interface StoredMediaFile {
  /** The decrypted bytes; errors (tampering, a lost key) surface on the stream. */
  body: Readable;
  mimeType: string | null;
  size: number | null;
}

/** Open one stored media file of a subject, decrypting as it streams; undefined when nothing is stored. */
export async function readMediaFile(
  deps: Pick<AppContext, 'database' | 'subjectKeys'> & { store: MediaStore },
  input: { tenantId: string; mediaRowId: string },
): Promise<StoredMediaFile | undefined> {
  const db = deps.database.db;
  const row = await db
    .selectFrom('media')
    .select(['id', 'subject_id', 'storage_key', 'stored_at', 'stored_size', 'mime_type'])
    .where('id', '=', input.mediaRowId)
    .where('tenant_id', '=', input.tenantId)
    .executeTakeFirst();
  if (!row?.storage_key || !row.stored_at) return undefined;
  const cipher = await deps.subjectKeys.cipher(db, row.subject_id);
  if (!cipher) return undefined;
  const source = await deps.store.get(row.storage_key);
  if (!source) return undefined;
  const decrypt = createDecryptStream({
    unwrapKey: (wrapped) => unwrapFileKey(cipher, row.id, wrapped),
    aad: mediaFileAad(row.id),
  });
  return {
    body: pipeline(source, decrypt, () => {}),
    mimeType: row.mime_type,
    size: row.stored_size,
  };
}
