import crypto from 'node:crypto';
import { DecryptError, open, seal } from './aead.js';

/**
 * The master key never leaves this module. It is a key-encryption key: it wraps the per-subject data keys and
 * the purpose keys, and nothing else. Purpose keys (tenant secrets, blind index, audit references, event ids,
 * export links, key-store references) are independent of the master key once they exist: version 1 of each is
 * derived with HKDF-SHA256 from the master key in place when it was first persisted (so an existing
 * installation keeps every blind index and audit reference), and from then on it is kept wrapped in the key
 * store. Rotating the master key therefore re-wraps keys and changes no HMAC and no ciphertext.
 *
 * HMAC purpose keys are versioned (`b1`, `b2`, ... for the blind index; `a1` for audit references): `hmac`
 * uses the newest version, `hmacAll` gives the value under every held version, newest first, so lookups keep
 * finding rows written under an older version during a transition.
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
  /** Keyed HMAC-SHA256 (hex) under the newest key version of one purpose. */
  hmac(purpose: HmacPurpose, message: string): string;
  /** The version label `hmac` uses for a purpose. */
  hmacVersion(purpose: HmacPurpose): string;
  /** The HMAC under every held version of a purpose, newest first (lookups during a transition). */
  hmacAll(purpose: HmacPurpose, message: string): string[];
  /** Every purpose key, wrapped under the current master key: what the key store keeps. */
  sealPurposeKeys(): SealedPurposeKey[];
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

  // Purpose keys by purpose, newest version first.
  const purposeKeys = new Map<StoredPurpose, { version: string; key: Buffer }[]>();
  for (const rec of opts.purposeKeys ?? []) {
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
    const list = purposeKeys.get(rec.purpose) ?? [];
    list.push({ version: rec.version, key });
    purposeKeys.set(rec.purpose, list);
  }
  for (const purpose of STORED_PURPOSES) {
    const list = purposeKeys.get(purpose);
    if (!list?.length) {
      purposeKeys.set(purpose, [
        { version: FIRST_PURPOSE_VERSION[purpose], key: hkdf(masterKey, `flowguard:${purpose}:v1`) },
      ]);
    } else list.sort((a, b) => versionNumber(b.version) - versionNumber(a.version));
  }
  const versions = (purpose: StoredPurpose) => purposeKeys.get(purpose)!;
  const newest = (purpose: StoredPurpose) => versions(purpose)[0]!;
  const mac = (key: Buffer, message: string) =>
    crypto.createHmac('sha256', key).update(message, 'utf8').digest('hex');

  return {
    masterVersion,
    wrapDataKey: (dataKey, ownerId) => seal(currentWrap, dataKey, `data-key:${ownerId}`),
    unwrapDataKey: (wrapped, ownerId, version) =>
      openWith(candidates(wrapKeys, version), wrapped, `data-key:${ownerId}`),
    rewrapDataKey(wrapped, ownerId, version) {
      const aad = `data-key:${ownerId}`;
      const dataKey = openWith(candidates(wrapKeys, version), wrapped, aad);
      try {
        return seal(currentWrap, dataKey, aad);
      } finally {
        dataKey.fill(0);
      }
    },
    hasMasterVersion: (version) => wrapKeys.has(version),
    sealSecret: (plaintext, aad) => seal(newest('tenant-secrets').key, plaintext, aad),
    openSecret: (envelope, aad) =>
      openWith(
        versions('tenant-secrets').map((v) => v.key),
        envelope,
        aad,
      ).toString('utf8'),
    hmac: (purpose, message) => mac(newest(purpose).key, message),
    hmacVersion: (purpose) => newest(purpose).version,
    hmacAll: (purpose, message) => versions(purpose).map((v) => mac(v.key, message)),
    sealPurposeKeys: () =>
      STORED_PURPOSES.flatMap((purpose) =>
        versions(purpose).map((v) =>
          sealPurposeKey({ version: masterVersion, key: masterKey }, purpose, v.version, v.key),
        ),
      ),
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
    wrapped: seal(wrapKey, key, purposeAad(purpose, version)),
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
