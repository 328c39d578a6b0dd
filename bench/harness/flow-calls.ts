import type crypto from 'node:crypto';
import type { AppContext } from '../../src/app/context.js';
import { encryptFlowRequest } from '../../src/lib/crypto/flow-crypto.js';
import { signMetaBody } from '../../src/lib/crypto/meta-signature.js';
import { createFlowTokens } from '../../src/modules/flows/index.js';
import type { PreparedRequest } from './load.js';
import { phoneOf, type BenchPerson } from './people.js';
import { BENCH_APP_SECRET } from './store.js';

/** A Flow token of the default tenant for each person, in order (the Privacy Center message carries one). */
export async function issueFlowTokens(app: AppContext, people: BenchPerson[]): Promise<string[]> {
  const tenant = await app.tenants.getDefault();
  const issuer = createFlowTokens({
    db: app.database.db,
    subjects: app.subjects,
    clock: app.clock,
    ttlSeconds: app.config.flowTokenTtlSeconds,
  });
  const tokens: string[] = [];
  for (const p of people) {
    const issued = await app.database.db
      .transaction()
      .execute((tx) => issuer.issue(tx, tenant.id, phoneOf(p)));
    tokens.push(issued.token);
  }
  return tokens;
}

/**
 * A Flows endpoint call as the WhatsApp client makes it: encrypted for the store's public key and signed with
 * the app secret; `aesKey` and `iv` decrypt its answer.
 */
export function flowRequest(payload: object, publicKey: crypto.KeyObject) {
  const enc = encryptFlowRequest(payload, publicKey);
  const body = JSON.stringify(enc.body);
  const prepared: PreparedRequest = {
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signMetaBody(Buffer.from(body), BENCH_APP_SECRET),
    },
  };
  return { prepared, aesKey: enc.aesKey, iv: enc.iv };
}
