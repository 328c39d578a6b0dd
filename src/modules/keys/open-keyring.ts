import { createKeyring, masterKeyVersion, type Keyring } from '../../lib/crypto/index.js';
import type { KeyStore } from './key-store.js';

/**
 * The keyring of this process: the current master key (new writes), previous ones (reads during a rotation),
 * and the purpose keys from the key store. On the very first start the purpose keys are derived from the
 * master key exactly as before they were stored (so blind indexes and audit references of an existing
 * installation do not change) and persisted, wrapped; from then on they no longer depend on the master key.
 */
export async function openKeyring(
  store: Pick<KeyStore, 'getMaterial' | 'putMaterial'>,
  masters: { current: Buffer; previous: Buffer[] },
): Promise<Keyring> {
  const stored = await store.getMaterial();
  if (stored.length === 0 && masters.previous.length > 0) {
    throw new Error(
      'the key store holds no purpose keys yet: start flowguard once with the old master key alone ' +
        '(without FLOWGUARD_MASTER_KEY_PREVIOUS), then rotate',
    );
  }
  const keyring = createKeyring(masters.current, masterKeyVersion(masters.current), {
    previous: masters.previous.map((key) => ({ version: masterKeyVersion(key), key })),
    purposeKeys: stored,
  });
  const have = new Set(stored.map((r) => `${r.purpose}:${r.version}`));
  const missing = keyring.sealPurposeKeys().filter((r) => !have.has(`${r.purpose}:${r.version}`));
  // Concurrent first starts derive the same keys from the same master key: `if-absent` keeps the first.
  if (missing.length) await store.putMaterial(missing, 'if-absent');
  return keyring;
}
