export { DecryptError, open, openText, seal } from './aead.js';
export {
  createKeyring,
  hashToken,
  newDataKey,
  randomToken,
  timingSafeEqualHex,
  type Keyring,
} from './keyring.js';
export { createFieldCipher, type FieldCipher } from './subject-cipher.js';
export { loadOrCreateMasterKey } from './master-key.js';
