import crypto from 'node:crypto';
import { DecryptError, open, seal as sealEnvelope } from './aead.js';

/**
 * The master key never leaves this module. It is a key-encryption key: it wraps the per-subject data keys and
 * the purpose keys, and nothing else. Purpose keys (tenant secrets, blind index, audit references, event ids,
 * export links, key-store references) are independent of the master key once they exist: version 1 of each is
 * derived with HKDF-SHA256 from the master key in place when it was first persisted (so an existing
 * installation keeps every blind index and audit reference), and from then on it is kept wrapped in the key
 * store. Rotating the master key therefore re-wraps keys and changes no HMAC and no ciphertext.
 *
 * HMAC purpose keys are versioned (`b1`, `b2`, ... for the blind index; `a1`, ... for audit references; `e1`,
 * ... for event ids): `hmac` uses the newest version that is active (a new version may be held, for lookups,
 * before it starts to be written), `hmacAll` gives the value under every held version, newest first, so lookups
 * keep finding rows written under an older version during a transition. A value under a later version carries
 * its label (`b2.<hex>`), so every copy of it (suppressions, request references, audit rows) says which key made
 * it; first-version values stay bare hex, as they were before versions existed.
 */

export type HmacPurpose = 'blind-index' | 'audit-subject' | 'event-id' | 'export-link' | 'subject-ref';
/** Purpose keys kept (wrapped) in the key store. */
export type StoredPurpose = HmacPurpose | 'tenant-secrets';
export type KeyPurpose = 'data-key-wrap' | 'purpose-key-wrap' | StoredPurpose;

/** The version label of each purpose's first key; later versions count up (`b2`, `b3`, ...). */
export const FIRST_PURPOSE_VERSION: Readonly<Record<StoredPurpose, string>> = {
  'tenant-secrets': 's1',
  'blind-index': 'b1',
  'audit-subject': 'a1',
  'event-id': 'e1',
  'export-link': 'x1',
  'subject-ref': 'r1',
};
const STORED_PURPOSES = Object.keys(FIRST_PURPOSE_VERSION) as StoredPurpose[];

/** A purpose key as the key store keeps it: wrapped under one master key version. */
export interface SealedPurposeKey {
  purpose: StoredPurpose;
  version: string;
  wrapped: string;
  masterVersion: string;
  /** ISO time from which new values use this version (absent: from the start). Held for lookups before. */
  activeFrom?: string | undefined;
}

export interface HmacVersionInfo {
  version: string;
  activeFrom: Date | undefined;
}

export interface MasterKeyVersion {
  version: string;
  key: Buffer;
}

export interface Keyring {
  /** Version label of the current master key (stored beside each wrapped key for rotation). */
  readonly masterVersion: string;
  /** Wrap a 32-byte data key under the current master key; the AAD binds it to its owner id. */
  wrapDataKey(dataKey: Buffer, ownerId: string): string;
  /** Unwrap with the master key of `masterVersion` (any held version when unknown or unlabelled). */
  unwrapDataKey(wrapped: string, ownerId: string, masterVersion?: string): Buffer;
  /** Re-wrap under the current master key without the data key leaving this module (rotation). */
  rewrapDataKey(wrapped: string, ownerId: string, masterVersion?: string): string;
  /** Whether a master key of this version is held (current or previous). */
  hasMasterVersion(version: string): boolean;
  /** Encrypt and decrypt small tenant-level secrets (app secrets, access tokens, private keys). */
  sealSecret(plaintext: string, aad: string): string;
  openSecret(envelope: string, aad: string): string;
  /** Keyed HMAC-SHA256 (hex, labelled after the first version) under the active key version of one purpose. */
  hmac(purpose: HmacPurpose, message: string): string;
  /** The version label `hmac` uses for a purpose. */
  hmacVersion(purpose: HmacPurpose): string;
  /** The HMAC under every held version of a purpose, newest first (lookups during a transition). */
  hmacAll(purpose: HmacPurpose, message: string): string[];
  /** The held versions of a purpose, newest first. */
  hmacVersions(purpose: HmacPurpose): HmacVersionInfo[];
  /** Every purpose key, wrapped under the current master key: what the key store keeps. */
  sealPurposeKeys(): SealedPurposeKey[];
  /**
   * A fresh random key for the next version of an HMAC purpose, sealed for the key store; not held until it is
   * stored and loaded (`loadPurposeKeys`), so nothing is ever written under a key the store does not keep.
   */
  sealNewPurposeKey(purpose: HmacPurpose, activeFrom: Date): SealedPurposeKey;
  /** Replace the held purpose keys with the key store's (a new version started, an old one retired). */
  loadPurposeKeys(records: SealedPurposeKey[]): void;
}

export interface KeyringOptions {
  /** Older master keys, still accepted for reading until rotation has re-wrapped everything. */
  previous?: MasterKeyVersion[];
  /** Purpose keys from the key store. A purpose with none is derived from the current master key. */
  purposeKeys?: SealedPurposeKey[];
}

/** A short, stable label for a master key (a keyed fingerprint: it reveals nothing about the key). */
export function masterKeyVersion(masterKey: Buffer): string {
  return (
    'k' + crypto.createHmac('sha256', masterKey).update('flowguard:master-key-id').digest('hex').slice(0, 10)
  );
}

const hkdf = (ikm: Buffer, label: string): Buffer =>
  Buffer.from(crypto.hkdfSync('sha256', ikm, Buffer.alloc(0), label, 32));

const versionNumber = (v: string): number => Number(v.slice(1)) || 0;
const purposeAad = (purpose: string, version: string) => `purpose-key:${purpose}:${version}`;
const LABELLED = /^([a-z][0-9]+)\./;

/** The key version a stored HMAC value was computed under: its label, or (bare hex) the purpose's first version. */
export function hmacVersionOf(purpose: HmacPurpose, value: string): string {
  return LABELLED.exec(value)?.[1] ?? FIRST_PURPOSE_VERSION[purpose];
}

interface HeldKey {
  version: string;
  key: Buffer;
  activeFrom: number | undefined;
}

export function createKeyring(masterKey: Buffer, masterVersion = 'm1', opts: KeyringOptions = {}): Keyring {
  if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
  const masters: MasterKeyVersion[] = [{ version: masterVersion, key: masterKey }];
  for (const p of opts.previous ?? []) {
    if (p.key.length !== 32) throw new Error('previous master key must be 32 bytes');
    if (!masters.some((m) => m.key.equals(p.key))) masters.push(p);
  }
  const wrapKeys = new Map(masters.map((m) => [m.version, hkdf(m.key, 'flowguard:data-key-wrap:v1')]));
  const purposeWrapKeys = new Map(
    masters.map((m) => [m.version, hkdf(m.key, 'flowguard:purpose-key-wrap:v1')]),
  );
  const currentWrap = wrapKeys.get(masterVersion)!;

  /** Try the labelled master key first, then every other one (legacy labels such as `m1`). */
  function candidates(keys: Map<string, Buffer>, version: string | undefined): Buffer[] {
    const first = version ? keys.get(version) : undefined;
    return first ? [first, ...[...keys.values()].filter((k) => k !== first)] : [...keys.values()];
  }
  function openWith(keys: Buffer[], envelope: string, aad: string): Buffer {
    for (const key of keys) {
      try {
        return open(key, envelope, aad);
      } catch (err) {
        if (!(err instanceof DecryptError)) throw err;
      }
    }
    throw new DecryptError('no held master key opens it');
  }

  /** Purpose keys by purpose, newest version first; a purpose with none stored is derived from the master key. */
  function holdPurposeKeys(records: SealedPurposeKey[]): Map<StoredPurpose, HeldKey[]> {
    const held = new Map<StoredPurpose, HeldKey[]>();
    for (const rec of records) {
      let key: Buffer;
      try {
        key = openWith(
          candidates(purposeWrapKeys, rec.masterVersion),
          rec.wrapped,
          purposeAad(rec.purpose, rec.version),
        );
      } catch (err) {
        if (!(err instanceof DecryptError)) throw err;
        throw new Error(
          `the ${rec.purpose} key ${rec.version} is wrapped under master key ${rec.masterVersion}, which is not configured (set FLOWGUARD_MASTER_KEY_PREVIOUS)`,
          { cause: err },
        );
      }
      const activeFrom = rec.activeFrom ? Date.parse(rec.activeFrom) : undefined;
      const list = held.get(rec.purpose) ?? [];
      list.push({
        version: rec.version,
        key,
        activeFrom: Number.isFinite(activeFrom) ? activeFrom : undefined,
      });
      held.set(rec.purpose, list);
    }
    for (const purpose of STORED_PURPOSES) {
      const list = held.get(purpose);
      if (!list?.length) {
        const key = hkdf(masterKey, `flowguard:${purpose}:v1`);
        held.set(purpose, [{ version: FIRST_PURPOSE_VERSION[purpose], key, activeFrom: undefined }]);
      } else list.sort((a, b) => versionNumber(b.version) - versionNumber(a.version));
    }
    return held;
  }
  let purposeKeys = holdPurposeKeys(opts.purposeKeys ?? []);
  const versions = (purpose: StoredPurpose) => purposeKeys.get(purpose)!;
  /** The newest version already active: what new values are written under. */
  const newest = (purpose: StoredPurpose) => {
    const now = Date.now();
    const list = versions(purpose);
    return list.find((v) => (v.activeFrom ?? 0) <= now) ?? list.at(-1)!;
  };
  const mac = (purpose: HmacPurpose, v: HeldKey, message: string) => {
    const hex = crypto.createHmac('sha256', v.key).update(message, 'utf8').digest('hex');
    return v.version === FIRST_PURPOSE_VERSION[purpose] ? hex : `${v.version}.${hex}`;
  };
  const seal = (purpose: StoredPurpose, v: HeldKey): SealedPurposeKey => ({
    ...sealPurposeKey({ version: masterVersion, key: masterKey }, purpose, v.version, v.key),
    ...(v.activeFrom !== undefined ? { activeFrom: new Date(v.activeFrom).toISOString() } : {}),
  });

  return {
    masterVersion,
    wrapDataKey: (dataKey, ownerId) => sealEnvelope(currentWrap, dataKey, `data-key:${ownerId}`),
    unwrapDataKey: (wrapped, ownerId, version) =>
      openWith(candidates(wrapKeys, version), wrapped, `data-key:${ownerId}`),
    rewrapDataKey(wrapped, ownerId, version) {
      const aad = `data-key:${ownerId}`;
      const dataKey = openWith(candidates(wrapKeys, version), wrapped, aad);
      try {
        return sealEnvelope(currentWrap, dataKey, aad);
      } finally {
        dataKey.fill(0);
      }
    },
    hasMasterVersion: (version) => wrapKeys.has(version),
    sealSecret: (plaintext, aad) => sealEnvelope(newest('tenant-secrets').key, plaintext, aad),
    openSecret: (envelope, aad) =>
      openWith(
        versions('tenant-secrets').map((v) => v.key),
        envelope,
        aad,
      ).toString('utf8'),
    hmac: (purpose, message) => mac(purpose, newest(purpose), message),
    hmacVersion: (purpose) => newest(purpose).version,
    hmacAll: (purpose, message) => versions(purpose).map((v) => mac(purpose, v, message)),
    hmacVersions: (purpose) =>
      versions(purpose).map((v) => ({
        version: v.version,
        activeFrom: v.activeFrom === undefined ? undefined : new Date(v.activeFrom),
      })),
    sealPurposeKeys: () =>
      STORED_PURPOSES.flatMap((purpose) => versions(purpose).map((v) => seal(purpose, v))),
    sealNewPurposeKey(purpose, activeFrom) {
      const top = Math.max(...versions(purpose).map((v) => versionNumber(v.version)));
      const version = `${FIRST_PURPOSE_VERSION[purpose].charAt(0)}${top + 1}`;
      const key = crypto.randomBytes(32);
      try {
        return seal(purpose, { version, key, activeFrom: activeFrom.getTime() });
      } finally {
        key.fill(0);
      }
    },
    loadPurposeKeys(records) {
      purposeKeys = holdPurposeKeys(records);
    },
  };
}

/**
 * Wrap one purpose key under a master key, in the form the key store keeps. A new version of an HMAC purpose
 * (`b2` after `b1`) is a fresh random key sealed with this; the keyring then uses it for new values.
 */
export function sealPurposeKey(
  master: MasterKeyVersion,
  purpose: StoredPurpose,
  version: string,
  key: Buffer,
): SealedPurposeKey {
  const wrapKey = hkdf(master.key, 'flowguard:purpose-key-wrap:v1');
  return {
    purpose,
    version,
    wrapped: sealEnvelope(wrapKey, key, purposeAad(purpose, version)),
    masterVersion: master.version,
  };
}

export function newDataKey(): Buffer {
  return crypto.randomBytes(32);
}

/** SHA-256 hex of a high-entropy secret (API keys, flow tokens). Fine for random tokens; never for phone numbers. */
export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export function randomToken(bytes = 32): string {
  return crypto.randomBytes(bytes).toString('base64url');
}

export function timingSafeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}
