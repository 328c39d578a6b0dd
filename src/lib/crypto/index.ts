export { DecryptError, open, openText, seal } from './aead.js';
export {
  createKeyring,
  hashToken,
  masterKeyVersion,
  newDataKey,
  randomToken,
  sealPurposeKey,
  timingSafeEqualHex,
  type Keyring,
  type SealedPurposeKey,
  type StoredPurpose,
} from './keyring.js';
export { createFieldCipher, type FieldCipher } from './subject-cipher.js';
export { loadOrCreateMasterKey } from './master-key.js';
export { createDecryptStream, createEncryptStream, DEFAULT_SEGMENT_BYTES } from './stream-cipher.js';
