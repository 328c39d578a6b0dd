import type { Keyring } from '../../lib/crypto/index.js';
import type { KeyStore, RotationState } from './key-store.js';

export interface RotationProgress {
  rewrapped: number;
  total: number;
  batches: number;
}

export interface RotationReport {
  status: 'completed' | 'interrupted';
  masterVersion: string;
  /** Keys re-wrapped by this run (a resumed run counts only its own). */
  rewrapped: number;
  /** Keys re-wrapped since the rotation to this version started, across runs. */
  rewrappedTotal: number;
  purposeKeys: number;
  remaining: number;
  batches: number;
  durationMs: number;
  keysPerSecond: number;
  resumed: boolean;
}

/**
 * Re-wrap every data key (and purpose key) in the key store under the current master key, online, in batches.
 * Processes started with the new FLOWGUARD_MASTER_KEY (and the old one as FLOWGUARD_MASTER_KEY_PREVIOUS)
 * write new keys under the new version at once and read either; this moves the rest. Progress (target
 * version, last ref, counts) is saved after every batch, so a run that stops (Ctrl-C, crash) resumes where it
 * left off. Each batch is a compare-and-set: a key shredded meanwhile stays shredded. Keys are visited in ref
 * order; a key written under an old version behind the cursor (an instance still on the old key) is caught by
 * a final pass, and the run only reports `completed` when none is left under another version. The data keys
 * themselves do not change, so no ciphertext is touched; afterwards the old master key is no longer needed.
 */
export async function rotateKeys(
  deps: { keyStore: KeyStore; keyring: Keyring; clock?: () => Date },
  opts: {
    batchSize?: number;
    signal?: AbortSignal | undefined;
    onProgress?: ((p: RotationProgress) => void) | undefined;
  } = {},
): Promise<RotationReport> {
  const { keyStore, keyring } = deps;
  const now = deps.clock ?? (() => new Date());
  const batchSize = opts.batchSize ?? 1000;
  const target = keyring.masterVersion;
  const started = Date.now();

  const material = await keyStore.getMaterial();
  const stale = material.filter((m) => m.masterVersion !== target);
  if (stale.length) {
    // Exactly the stored versions (not a retired one this process may still hold), re-wrapped.
    keyring.loadPurposeKeys(material);
    await keyStore.putMaterial(keyring.sealPurposeKeys(), 'replace');
  }

  const previous = await keyStore.getRotation();
  const resumed = Boolean(previous && previous.targetVersion === target && !previous.finishedAt);
  const state: RotationState = resumed
    ? { ...previous! }
    : {
        targetVersion: target,
        cursor: null,
        rewrapped: 0,
        batches: 0,
        startedAt: now(),
        updatedAt: now(),
        finishedAt: null,
      };
  let total = state.rewrapped + (await keyStore.countNotAt(target));
  let rewrapped = 0;
  let batches = 0;
  const report = (status: RotationReport['status'], remaining: number): RotationReport => {
    const durationMs = Date.now() - started;
    return {
      status,
      masterVersion: target,
      rewrapped,
      rewrappedTotal: state.rewrapped,
      purposeKeys: stale.length,
      remaining,
      batches,
      durationMs,
      keysPerSecond: durationMs > 0 ? Math.round((rewrapped * 1000) / durationMs) : rewrapped,
      resumed,
    };
  };

  for (let pass = 0; pass < 3; pass++) {
    for (;;) {
      if (opts.signal?.aborted) {
        await keyStore.setRotation({ ...state, updatedAt: now() });
        return report('interrupted', await keyStore.countNotAt(target));
      }
      const keys = await keyStore.listNotAt(target, state.cursor, batchSize);
      if (keys.length === 0) break;
      for (const k of keys) {
        if (!keyring.hasMasterVersion(k.masterVersion) && k.masterVersion !== 'm1') {
          throw new Error(
            `a key is wrapped under master key ${k.masterVersion}, which is not configured: set it in FLOWGUARD_MASTER_KEY_PREVIOUS`,
          );
        }
      }
      const n = await keyStore.rewrap(
        keys.map((k) => ({
          ref: k.ref,
          from: k.wrapped,
          wrapped: keyring.rewrapDataKey(k.wrapped, k.ref, k.masterVersion),
          masterVersion: target,
        })),
      );
      rewrapped += n;
      batches++;
      state.cursor = keys.at(-1)!.ref;
      state.rewrapped += n;
      state.batches++;
      state.updatedAt = now();
      await keyStore.setRotation(state);
      opts.onProgress?.({ rewrapped: state.rewrapped, total, batches: state.batches });
    }
    const remaining = await keyStore.countNotAt(target);
    if (remaining === 0) break;
    state.cursor = null;
    total = state.rewrapped + remaining;
  }
  const remaining = await keyStore.countNotAt(target);
  if (remaining > 0) {
    await keyStore.setRotation({ ...state, updatedAt: now() });
    throw new Error(
      `${remaining} keys are still written under an old master key: is an instance on the old key?`,
    );
  }
  state.finishedAt = now();
  state.updatedAt = state.finishedAt;
  await keyStore.setRotation(state);
  return report('completed', 0);
}
