import crypto from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decryptFlowRequest,
  decryptFlowRequestWith,
  encryptFlowRequest,
  FlowRequestError,
} from './flow-crypto.js';
import { createRsaUnwrapper, type RsaUnwrapper } from './rsa-pool.js';

const pair = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const wrap = (publicKey: crypto.KeyObject, aesKey: Buffer) =>
  crypto.publicEncrypt(
    { key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aesKey,
  );

describe('RSA unwrapping on worker threads', () => {
  let pool: RsaUnwrapper | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('unwraps many keys at once across workers, under several private keys', async () => {
    pool = createRsaUnwrapper(2);
    expect(pool.threads).toBe(2);
    const a = pair();
    const b = pair();
    const calls = Array.from({ length: 40 }, (_, i) => {
      const key = i % 2 === 0 ? a : b;
      const aes = crypto.randomBytes(16);
      return { key, aes, wrapped: wrap(key.publicKey, aes) };
    });
    const out = await Promise.all(calls.map((c) => pool!.unwrap(c.key.privateKey, c.wrapped)));
    expect(out.map((o) => o?.toString('hex'))).toEqual(calls.map((c) => c.aes.toString('hex')));
  });

  it('answers undefined for what does not decrypt (wrong key, garbage), like the inline path', async () => {
    pool = createRsaUnwrapper(1);
    const a = pair();
    const b = pair();
    expect(await pool.unwrap(b.privateKey, wrap(a.publicKey, crypto.randomBytes(16)))).toBeUndefined();
    expect(await pool.unwrap(a.privateKey, crypto.randomBytes(256))).toBeUndefined();
    expect(await pool.unwrap(a.privateKey, Buffer.alloc(0))).toBeUndefined();
    const aes = crypto.randomBytes(16);
    expect((await pool.unwrap(a.privateKey, wrap(a.publicKey, aes)))?.equals(aes)).toBe(true);
  });

  it('gives the same result and the same error kinds as the inline decryption for a whole request', async () => {
    pool = createRsaUnwrapper(1);
    const { publicKey, privateKey } = pair();
    const { body } = encryptFlowRequest({ version: '3.0', action: 'ping' }, publicKey);
    const inline = decryptFlowRequest(body, privateKey);
    const threaded = await decryptFlowRequestWith(body, privateKey, pool.unwrap);
    expect(threaded.payload).toEqual(inline.payload);
    expect(threaded.aesKey.equals(inline.aesKey)).toBe(true);

    const other = pair();
    const wrong = decryptFlowRequestWith(body, other.privateKey, pool.unwrap);
    await expect(wrong).rejects.toBeInstanceOf(FlowRequestError);
    await expect(wrong).rejects.toMatchObject({ kind: 'undecryptable' });
    await expect(decryptFlowRequestWith({ nope: 1 }, privateKey, pool.unwrap)).rejects.toMatchObject({
      kind: 'malformed',
    });
  });

  it('fails the calls of a worker that dies with an error (not as undecryptable) and carries on', async () => {
    const workers: Worker[] = [];
    pool = createRsaUnwrapper(1, { onWorker: (w) => workers.push(w) });
    const { publicKey, privateKey } = pair();
    const aes = crypto.randomBytes(16);
    expect((await pool.unwrap(privateKey, wrap(publicKey, aes)))?.equals(aes)).toBe(true);
    expect(workers).toHaveLength(1);
    const pending = Array.from({ length: 100 }, () => pool!.unwrap(privateKey, wrap(publicKey, aes)));
    await workers[0]!.terminate();
    const settled = await Promise.allSettled(pending);
    const failed = settled.filter((s) => s.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(String((f as PromiseRejectedResult).reason)).toMatch(/RSA worker/);
    // A new worker takes over, with the key sent to it again.
    expect((await pool.unwrap(privateKey, wrap(publicKey, aes)))?.equals(aes)).toBe(true);
    expect(workers).toHaveLength(2);
  });

  it('runs inline with no threads', async () => {
    pool = createRsaUnwrapper(0);
    expect(pool.threads).toBe(0);
    const { publicKey, privateKey } = pair();
    const aes = crypto.randomBytes(16);
    expect((await pool.unwrap(privateKey, wrap(publicKey, aes)))?.equals(aes)).toBe(true);
  });
});
