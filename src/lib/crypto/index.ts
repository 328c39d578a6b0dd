export { DecryptError, open, openText, seal } from './aead.js';
export {
  createKeyring,
  FIRST_PURPOSE_VERSION,
  hashToken,
  hmacVersionOf,
  masterKeyVersion,
  newDataKey,
  randomToken,
  sealPurposeKey,
  timingSafeEqualHex,
  type HmacPurpose,
  type HmacVersionInfo,
  type Keyring,
  type SealedPurposeKey,
  type StoredPurpose,
} from './keyring.js';
export { createFieldCipher, type FieldCipher } from './subject-cipher.js';
export { loadOrCreateMasterKey } from './master-key.js';
export { createDecryptStream, createEncryptStream, DEFAULT_SEGMENT_BYTES } from './stream-cipher.js';
