import crypto, { type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  FlowRequestError,
  FlowsKeyError,
  decryptFlowRequest,
  decryptFlowResponse,
  encryptFlowRequest,
  encryptFlowResponse,
  parseFlowsPrivateKey,
} from './flow-crypto.js';

const PASSPHRASE = 'correct horse battery staple';
const PING = { version: '3.0', action: 'ping' };

let key: KeyObject; // RSA-2048, the business key
let otherKey: KeyObject; // RSA-2048, someone else's
let publicPem: string;
let pems: Record<'pkcs1' | 'pkcs1Des3' | 'pkcs8' | 'pkcs8Aes', string>;

beforeAll(() => {
  ({ privateKey: key } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }));
  ({ privateKey: otherKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }));
  publicPem = crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  const pem = (opts: crypto.KeyExportOptions<'pem'>): string => key.export(opts).toString();
  pems = {
    pkcs1: pem({ type: 'pkcs1', format: 'pem' }),
    // What `openssl genrsa -traditional -des3 2048` writes: PKCS#1 with Proc-Type/DEK-Info headers.
    pkcs1Des3: pem({ type: 'pkcs1', format: 'pem', cipher: 'des-ede3-cbc', passphrase: PASSPHRASE }),
    pkcs8: pem({ type: 'pkcs8', format: 'pem' }),
    // What OpenSSL 3's `openssl genrsa -des3 2048` writes by default.
    pkcs8Aes: pem({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }),
  };
});

/** Client side written from the protocol text, independent of the module under test. */
function handMadeRequest(plaintext: Buffer, opts: { aesKey?: Buffer; iv?: Buffer } = {}) {
  const aesKey = opts.aesKey ?? crypto.randomBytes(16);
  const iv = opts.iv ?? crypto.randomBytes(16);
  const cipher = crypto.createCipheriv(aesKey.length === 32 ? 'aes-256-gcm' : 'aes-128-gcm', aesKey, iv);
  const data = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const wrapped = crypto.publicEncrypt(
    { key: publicPem, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );
  return {
    encrypted_flow_data: data.toString('base64'),
    encrypted_aes_key: wrapped.toString('base64'),
    initial_vector: iv.toString('base64'),
  };
}

/** 'ok' or the kind of FlowRequestError; any other throw fails the test. */
function outcome(body: unknown, privateKey: KeyObject = key): 'ok' | FlowRequestError['kind'] {
  try {
    decryptFlowRequest(body, privateKey);
    return 'ok';
  } catch (err) {
    if (err instanceof FlowRequestError) return err.kind;
    throw new Error(`escaped a non-FlowRequestError: ${String(err)}`, { cause: err });
  }
}

function keyError(fn: () => unknown): FlowsKeyError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FlowsKeyError) return err;
    throw err;
  }
  throw new Error('expected a FlowsKeyError');
}

describe('parseFlowsPrivateKey', () => {
  it.each(['pkcs1', 'pkcs1Des3', 'pkcs8', 'pkcs8Aes'] as const)('accepts %s and decrypts with it', (kind) => {
    const pem = pems[kind];
    if (kind === 'pkcs1Des3') expect(pem).toMatch(/BEGIN RSA PRIVATE KEY[\s\S]*Proc-Type: 4,ENCRYPTED/);
    if (kind === 'pkcs8Aes') expect(pem).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    const parsed = parseFlowsPrivateKey(
      pem,
      kind.endsWith('s3') || kind.endsWith('Aes') ? PASSPHRASE : undefined,
    );
    expect(parsed.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const { body } = encryptFlowRequest(PING, publicPem);
    expect(decryptFlowRequest(body, parsed).payload).toEqual(PING);
  });

  it('ignores a passphrase given for an unencrypted key', () => {
    expect(parseFlowsPrivateKey(pems.pkcs8, 'unused').type).toBe('private');
  });

  it('asks for the passphrase of an encrypted key (none or empty)', () => {
    for (const pem of [pems.pkcs1Des3, pems.pkcs8Aes]) {
      expect(keyError(() => parseFlowsPrivateKey(pem)).reason).toBe('passphrase_required');
      expect(keyError(() => parseFlowsPrivateKey(pem, '')).reason).toBe('passphrase_required');
    }
  });

  it('rejects a wrong passphrase without leaking key or passphrase', () => {
    for (const pem of [pems.pkcs1Des3, pems.pkcs8Aes]) {
      const err = keyError(() => parseFlowsPrivateKey(pem, 'Tr0ub4dor&3'));
      expect(err.reason).toBe('bad_passphrase');
      expect(err.message).not.toContain('Tr0ub4dor');
      expect(err.message).not.toMatch(/MII|[A-Za-z0-9+/]{20}/);
      expect(err.cause).toBeUndefined();
    }
  });

  it('rejects keys that are not RSA, RSA-PSS, too small, or not private keys', () => {
    const ed = crypto
      .generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const pss = crypto
      .generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const small = crypto
      .generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    expect(keyError(() => parseFlowsPrivateKey(ed)).reason).toBe('not_rsa');
    expect(keyError(() => parseFlowsPrivateKey(pss)).reason).toBe('not_rsa');
    expect(keyError(() => parseFlowsPrivateKey(small)).reason).toBe('too_small');
    expect(keyError(() => parseFlowsPrivateKey(small)).message).toContain('1024');
    expect(keyError(() => parseFlowsPrivateKey(publicPem)).reason).toBe('invalid_pem');
    expect(keyError(() => parseFlowsPrivateKey('not a key')).reason).toBe('invalid_pem');
    expect(keyError(() => parseFlowsPrivateKey(pems.pkcs8.replace(/[A-Z]/g, 'A'))).reason).toBe(
      'invalid_pem',
    );
  });
});

describe('decryptFlowRequest / encryptFlowResponse', () => {
  it('round-trips a request and its response', () => {
    const payload = {
      version: '3.0',
      action: 'data_exchange',
      screen: 'A',
      data: { ä: '✓' },
      flow_token: 't',
    };
    const sent = encryptFlowRequest(payload, publicPem);
    const got = decryptFlowRequest(sent.body, key);
    expect(got.payload).toEqual(payload);
    expect(got.aesKey.equals(sent.aesKey)).toBe(true);
    expect(got.iv.equals(sent.iv)).toBe(true);
    const reply = { data: { status: 'active' } };
    expect(decryptFlowResponse(encryptFlowResponse(reply, got.aesKey, got.iv), sent.aesKey, sent.iv)).toEqual(
      reply,
    );
  });

  it('decrypts a request built independently from the protocol text', () => {
    expect(decryptFlowRequest(handMadeRequest(Buffer.from(JSON.stringify(PING))), key).payload).toEqual(PING);
  });

  it('encrypts the response under the request IV with every byte inverted', () => {
    const aesKey = crypto.randomBytes(16);
    const iv = Buffer.from([0x00, 0xff, 0x0f, 0xf0, 0x55, 0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const inverted = Buffer.from([
      0xff, 0x00, 0xf0, 0x0f, 0xaa, 0x55, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245,
    ]);
    const out = Buffer.from(encryptFlowResponse({ data: { acknowledged: true } }, aesKey, iv), 'base64');
    const decipher = crypto.createDecipheriv('aes-128-gcm', aesKey, inverted);
    decipher.setAuthTag(out.subarray(-16));
    const plain = Buffer.concat([decipher.update(out.subarray(0, -16)), decipher.final()]).toString('utf8');
    expect(JSON.parse(plain)).toEqual({ data: { acknowledged: true } });

    const sameIv = crypto.createDecipheriv('aes-128-gcm', aesKey, iv);
    sameIv.setAuthTag(out.subarray(-16));
    sameIv.update(out.subarray(0, -16));
    expect(() => sameIv.final()).toThrow();
  });

  it('rejects a response key or IV of the wrong size and an unserialisable response', () => {
    expect(() => encryptFlowResponse({}, crypto.randomBytes(32), crypto.randomBytes(16))).toThrow(RangeError);
    expect(() => encryptFlowResponse({}, crypto.randomBytes(16), crypto.randomBytes(12))).toThrow(RangeError);
    expect(() => encryptFlowResponse(undefined, crypto.randomBytes(16), crypto.randomBytes(16))).toThrow(
      TypeError,
    );
  });

  it('answers undecryptable for a bad tag, a changed ciphertext, or the wrong private key', () => {
    const { body } = encryptFlowRequest(PING, publicPem);
    const data = Buffer.from(body.encrypted_flow_data, 'base64');
    const flip = (i: number) => {
      const copy = Buffer.from(data);
      copy[i] = (copy[i] ?? 0) ^ 0x01;
      return { ...body, encrypted_flow_data: copy.toString('base64') };
    };
    expect(outcome(flip(data.length - 1))).toBe('undecryptable');
    expect(outcome(flip(0))).toBe('undecryptable');
    expect(outcome(body, otherKey)).toBe('undecryptable');
    expect(outcome({ ...body, initial_vector: crypto.randomBytes(16).toString('base64') })).toBe(
      'undecryptable',
    );
    expect(outcome(body)).toBe('ok');
  });

  it('answers undecryptable for a 32-byte AES key or a plaintext that is not a UTF-8 JSON object', () => {
    const json = Buffer.from(JSON.stringify(PING));
    expect(outcome(handMadeRequest(json, { aesKey: crypto.randomBytes(32) }))).toBe('undecryptable');
    for (const plain of ['', 'not json', '[1,2]', '"str"', '42', 'null', '{"a":1']) {
      expect(outcome(handMadeRequest(Buffer.from(plain)))).toBe('undecryptable');
    }
    expect(outcome(handMadeRequest(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])))).toBe(
      'undecryptable',
    );
  });

  it('answers malformed for bodies that are not the documented envelope', () => {
    const good = encryptFlowRequest(PING, publicPem).body;
    const cases: unknown[] = [
      undefined,
      null,
      'string',
      42,
      [good],
      {},
      { ...good, encrypted_flow_data: undefined },
      { ...good, encrypted_aes_key: 1 },
      { ...good, initial_vector: null },
      { ...good, initial_vector: ['a'] },
      { ...good, encrypted_flow_data: 'not*base64!' },
      { ...good, encrypted_aes_key: 'a=b=' },
      { ...good, encrypted_flow_data: 'abcde' },
      { ...good, initial_vector: crypto.randomBytes(12).toString('base64') },
      { ...good, initial_vector: '' },
      { ...good, encrypted_flow_data: crypto.randomBytes(15).toString('base64') },
      Object.create(good) as unknown, // inherited fields do not count
    ];
    for (const body of cases) expect(outcome(body)).toBe('malformed');
  });

  it('accepts base64 with line breaks, URL-safe alphabet, or without padding', () => {
    const { body } = encryptFlowRequest(PING, publicPem);
    const wrap = (s: string) => s.replace(/(.{76})/g, '$1\r\n');
    const url = (s: string) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(outcome({ ...body, encrypted_aes_key: wrap(body.encrypted_aes_key) })).toBe('ok');
    expect(
      outcome({
        encrypted_flow_data: url(body.encrypted_flow_data),
        encrypted_aes_key: url(body.encrypted_aes_key),
        initial_vector: url(body.initial_vector),
      }),
    ).toBe('ok');
  });

  it('never throws anything but FlowRequestError, whatever the body', () => {
    const hostile = {
      get encrypted_flow_data(): string {
        throw new Error('boom');
      },
    };
    expect(outcome(hostile)).toBe('malformed');
    fc.assert(
      fc.property(fc.anything(), (body) => {
        expect(outcome(body)).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
    const b64 = fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')),
    );
    fc.assert(
      fc.property(b64, b64, b64, (d, k, v) => {
        expect(outcome({ encrypted_flow_data: d, encrypted_aes_key: k, initial_vector: v })).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but FlowRequestError for random right-sized or bit-flipped requests', () => {
    const rnd = (n: number) => crypto.randomBytes(n).toString('base64');
    for (let i = 0; i < 200; i++) {
      const body = {
        encrypted_flow_data: rnd(crypto.randomInt(0, 64)),
        encrypted_aes_key: rnd(i % 2 === 0 ? 256 : crypto.randomInt(0, 300)),
        initial_vector: rnd(i % 3 === 0 ? 16 : crypto.randomInt(0, 24)),
      };
      expect(outcome(body)).not.toBe('ok');
    }
    const { body } = encryptFlowRequest(PING, publicPem);
    const fields = ['encrypted_flow_data', 'encrypted_aes_key', 'initial_vector'] as const;
    for (let i = 0; i < 200; i++) {
      const field = fields[i % 3] ?? 'initial_vector';
      const raw = Buffer.from(body[field], 'base64');
      const at = crypto.randomInt(0, raw.length);
      raw[at] = (raw[at] ?? 0) ^ (1 << crypto.randomInt(0, 8));
      expect(outcome({ ...body, [field]: raw.toString('base64') })).toBe('undecryptable');
    }
  });
});

describe('decryptFlowResponse', () => {
  it('fails cleanly on a tampered or truncated response', () => {
    const aesKey = crypto.randomBytes(16);
    const iv = crypto.randomBytes(16);
    const out = Buffer.from(encryptFlowResponse({ ok: 1 }, aesKey, iv), 'base64');
    out[0] = (out[0] ?? 0) ^ 1;
    expect(() => decryptFlowResponse(out.toString('base64'), aesKey, iv)).toThrow('authentication');
    expect(() => decryptFlowResponse('AAAA', aesKey, iv)).toThrow('shorter');
  });
});
