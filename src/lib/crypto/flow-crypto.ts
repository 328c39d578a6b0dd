import crypto, { type KeyObject } from 'node:crypto';
import { unwrapInline } from './rsa-pool.js';

/**
 * Wire crypto of the WhatsApp Flows data endpoint (data_api_version 3.0/4.0), both sides:
 * - request: `encrypted_aes_key` = RSA-OAEP(SHA-256, MGF1 SHA-256) of a 16-byte AES key under the business key,
 *   `initial_vector` = 16 bytes, `encrypted_flow_data` = AES-128-GCM ciphertext || 16-byte tag of a JSON object;
 * - response: AES-128-GCM under the same key with the IV's bytes inverted (`b ^ 0xff`), base64(ciphertext || tag).
 * Pure functions: no I/O, no logging. Error messages and details never contain key material or plaintext.
 */

const AES_KEY_BYTES = 16;
const IV_BYTES = 16;
const TAG_BYTES = 16;
const MIN_RSA_BITS = 2048;

// --- Private key ----------------------------------------------------------------------------------------------

export type FlowsKeyErrorReason =
  'passphrase_required' | 'bad_passphrase' | 'invalid_pem' | 'not_rsa' | 'too_small';

/** The configured Flows private key is unusable. The message names the problem, never the key. */
export class FlowsKeyError extends Error {
  constructor(
    readonly reason: FlowsKeyErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'FlowsKeyError';
  }
}

/**
 * Parse the business's Flows private key once (at tenant load), never per request. Accepts PEM PKCS#1
 * (`BEGIN RSA PRIVATE KEY`, also `openssl genrsa -des3` with Proc-Type/DEK-Info headers) and PKCS#8 (plain or
 * `BEGIN ENCRYPTED PRIVATE KEY`). The key must be plain RSA (not RSA-PSS, which cannot do OAEP) of >= 2048 bits.
 * An empty passphrase counts as none.
 */
export function parseFlowsPrivateKey(pem: string, passphrase?: string): KeyObject {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/.test(pem);
  const pass = passphrase === '' ? undefined : passphrase;
  if (encrypted && pass === undefined) {
    throw new FlowsKeyError(
      'passphrase_required',
      'Flows private key is encrypted and no passphrase was given',
    );
  }
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey({
      key: pem,
      format: 'pem',
      ...(pass === undefined ? {} : { passphrase: pass }),
    });
  } catch {
    // The cause is dropped on purpose: it adds nothing useful and must not drag key bytes into logs.
    throw encrypted
      ? new FlowsKeyError(
          'bad_passphrase',
          'Flows private key cannot be decrypted: wrong passphrase or damaged key',
        )
      : new FlowsKeyError(
          'invalid_pem',
          'Flows private key is not a valid PEM (PKCS#1 or PKCS#8) private key',
        );
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new FlowsKeyError(
      'not_rsa',
      `Flows private key must be RSA, got ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new FlowsKeyError(
      'too_small',
      `Flows private key must be at least ${MIN_RSA_BITS} bits, got ${bits}`,
    );
  }
  return key;
}

// --- Server side: request decryption, response encryption ------------------------------------------------------

/**
 * `malformed`: the body is not the documented envelope (not an object, a field missing or not a string, not
 * base64, IV not 16 bytes, data shorter than the tag). `undecryptable`: well-formed, but the RSA or GCM step
 * fails, the AES key is not 16 bytes, or the plaintext is not a UTF-8 JSON object. The route maps both to 421.
 */
export type FlowRequestErrorKind = 'malformed' | 'undecryptable';

export class FlowRequestError extends Error {
  constructor(
    readonly kind: FlowRequestErrorKind,
    /** Short fixed text for logs; never contains request bytes. Do not send it to the caller. */
    readonly reason: string,
  ) {
    super(`flow request ${kind}: ${reason}`);
    this.name = 'FlowRequestError';
  }
}

export interface DecryptedFlowRequest {
  /** The decrypted JSON object (`{version, action, screen?, data?, flow_token?}`), not yet validated. */
  payload: Record<string, unknown>;
  /** Keep for `encryptFlowResponse`; never log. */
  aesKey: Buffer;
  iv: Buffer;
}

/** Decrypt one data-endpoint request. Throws only `FlowRequestError`, whatever the input. */
export function decryptFlowRequest(body: unknown, privateKey: KeyObject): DecryptedFlowRequest {
  return guarded(() => {
    const envelope = readEnvelope(body);
    return openEnvelope(envelope, unwrapInline(privateKey, envelope.wrappedKey));
  });
}

/**
 * decryptFlowRequest with the RSA step done by `unwrap` (a worker-thread pool). Rejects with `FlowRequestError`
 * for anything wrong with the request, and with the unwrapper's own error when it fails (a server fault).
 */
export async function decryptFlowRequestWith(
  body: unknown,
  privateKey: KeyObject,
  unwrap: (key: KeyObject, wrapped: Buffer) => Promise<Buffer | undefined>,
): Promise<DecryptedFlowRequest> {
  const envelope = guarded(() => readEnvelope(body));
  const aesKey = await unwrap(privateKey, envelope.wrappedKey);
  return guarded(() => openEnvelope(envelope, aesKey));
}

function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    // Belt and braces: a body that is not plain parsed JSON (getters, proxies) must not escape as another error.
    if (err instanceof FlowRequestError) throw err;
    throw new FlowRequestError('malformed', 'body cannot be read');
  }
}

interface Envelope {
  data: Buffer;
  wrappedKey: Buffer;
  iv: Buffer;
}

function readEnvelope(body: unknown): Envelope {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FlowRequestError('malformed', 'body is not a JSON object');
  }
  const envelope = body as Record<string, unknown>;
  const data = decodeField(envelope, 'encrypted_flow_data');
  const wrappedKey = decodeField(envelope, 'encrypted_aes_key');
  const iv = decodeField(envelope, 'initial_vector');
  if (iv.length !== IV_BYTES) throw new FlowRequestError('malformed', 'initial_vector is not 16 bytes');
  if (data.length < TAG_BYTES)
    throw new FlowRequestError('malformed', 'encrypted_flow_data is shorter than the tag');
  return { data, wrappedKey, iv };
}

/** The rest once the AES key is unwrapped (undefined: the RSA step failed). */
function openEnvelope({ data, iv }: Envelope, aesKey: Buffer | undefined): DecryptedFlowRequest {
  if (!aesKey) throw new FlowRequestError('undecryptable', 'AES key cannot be unwrapped');
  if (aesKey.length !== AES_KEY_BYTES) throw new FlowRequestError('undecryptable', 'AES key is not 16 bytes');
  let plaintext: Buffer;
  try {
    plaintext = gcm('decrypt', aesKey, iv, data);
  } catch {
    throw new FlowRequestError('undecryptable', 'flow data fails authentication');
  }
  const payload = parseJsonObject(plaintext);
  if (payload === undefined) throw new FlowRequestError('undecryptable', 'flow data is not a JSON object');
  return { payload, aesKey, iv };
}

/** Encrypt a response to the request that gave `aesKey` and `iv`: base64(ciphertext || tag) under the inverted IV. */
export function encryptFlowResponse(response: unknown, aesKey: Buffer, iv: Buffer): string {
  return gcm('encrypt', aesKey, invertIv(iv), Buffer.from(toJson(response), 'utf8')).toString('base64');
}

// --- Client side (what WhatsApp does): for tests and the simulator ---------------------------------------------

export interface EncryptedFlowRequest {
  body: { encrypted_flow_data: string; encrypted_aes_key: string; initial_vector: string };
  aesKey: Buffer;
  iv: Buffer;
}

/** Build a request as the WhatsApp client does: fresh AES-128 key and 16-byte IV, key wrapped with RSA-OAEP. */
export function encryptFlowRequest(payload: object, publicKey: KeyObject | string): EncryptedFlowRequest {
  const aesKey = crypto.randomBytes(AES_KEY_BYTES);
  const iv = crypto.randomBytes(IV_BYTES);
  const wrappedKey = crypto.publicEncrypt(
    { key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );
  const data = gcm('encrypt', aesKey, iv, Buffer.from(toJson(payload), 'utf8'));
  return {
    body: {
      encrypted_flow_data: data.toString('base64'),
      encrypted_aes_key: wrappedKey.toString('base64'),
      initial_vector: iv.toString('base64'),
    },
    aesKey,
    iv,
  };
}

/** Decrypt a response body as the WhatsApp client does. Throws a plain Error when it cannot. */
export function decryptFlowResponse(b64: string, aesKey: Buffer, iv: Buffer): unknown {
  const data = Buffer.from(b64, 'base64');
  if (data.length < TAG_BYTES) throw new Error('flow response is shorter than the tag');
  let plaintext: Buffer;
  try {
    plaintext = gcm('decrypt', aesKey, invertIv(iv), data);
  } catch {
    throw new Error('flow response fails authentication');
  }
  return JSON.parse(plaintext.toString('utf8')) as unknown;
}

// --- Internals ----------------------------------------------------------------------------------------------

/** Standard or URL-safe alphabet, optional padding, line breaks tolerated (as Node's own decoder does). */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeField(envelope: Record<string, unknown>, name: string): Buffer {
  const value = Object.hasOwn(envelope, name) ? envelope[name] : undefined;
  if (typeof value !== 'string')
    throw new FlowRequestError('malformed', `${name} is missing or not a string`);
  const compact = value.replace(/[\r\n]/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    throw new FlowRequestError('malformed', `${name} is not base64`);
  }
  return Buffer.from(compact, 'base64');
}

/** Both sides check lengths so that a wrong key or IV fails here, not as a silent mismatch. */
function gcm(mode: 'encrypt' | 'decrypt', key: Buffer, iv: Buffer, input: Buffer): Buffer {
  if (key.length !== AES_KEY_BYTES) throw new RangeError('AES-128-GCM needs a 16-byte key');
  if (iv.length !== IV_BYTES) throw new RangeError('flow IV must be 16 bytes');
  if (mode === 'encrypt') {
    const cipher = crypto.createCipheriv('aes-128-gcm', key, iv);
    return Buffer.concat([cipher.update(input), cipher.final(), cipher.getAuthTag()]);
  }
  const decipher = crypto.createDecipheriv('aes-128-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(input.subarray(input.length - TAG_BYTES));
  return Buffer.concat([decipher.update(input.subarray(0, input.length - TAG_BYTES)), decipher.final()]);
}

function invertIv(iv: Buffer): Buffer {
  return Buffer.from(iv.map((b) => b ^ 0xff));
}

function toJson(value: unknown): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError('flow message is not JSON-serialisable');
  return json;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
