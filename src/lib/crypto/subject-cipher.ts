import { openText, seal } from './aead.js';

/**
 * Field encryption under one subject's data key. The closure holds the key; callers only ever see
 * ciphertext envelopes and plaintext values. AAD is `table.column.rowId`.
 */
export interface FieldCipher {
  encrypt(plaintext: string, table: string, column: string, rowId: string): string;
  decrypt(envelope: string, table: string, column: string, rowId: string): string;
}

export function createFieldCipher(dataKey: Buffer): FieldCipher {
  return {
    encrypt: (plaintext, table, column, rowId) => seal(dataKey, plaintext, `${table}.${column}.${rowId}`),
    decrypt: (envelope, table, column, rowId) => openText(dataKey, envelope, `${table}.${column}.${rowId}`),
  };
}
