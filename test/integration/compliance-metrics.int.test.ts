import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, fakePerson, storeKinds, type TestApp } from '../helpers/test-app.js';
import {
  contact,
  delivery,
  flowReplyMessage,
  postWebhook,
  textMessage,
  type Person,
} from '../helpers/webhook-payloads.js';

function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelPart = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (want.every((w) => labelPart.split(',').includes(w))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe.each(storeKinds())("the seed's compliance metrics on %s", (kind) => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-metrics-'));
    const file = path.join(dir, 'flowguard.yaml');
    fs.writeFileSync(file, 'tenant:\n  reengagement:\n    enabled: true\n    windowDays: 30\n');
    t = await createTestApp(kind, { FLOWGUARD_CONFIG: file });
  });
  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async () => (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const deletion = (p: Person) =>
    JSON.stringify({ action: 'data_deletion_request', scope: 'all', flow_token: 'x', user_id: p.waId });
  const booking = JSON.stringify({ flow_token: 'y', slot: 'tuesday' });

  it('reports completion rate, deletion latency, trust coefficient and re-engagement from the store', async () => {
    const people = [fakePerson(), fakePerson(), fakePerson()];
    // Six Flow completions in all, two of them deletion requests.
    for (const p of people) {
      await postWebhook(t, delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, booking)] }));
    }
    await postWebhook(
      t,
      delivery({ contacts: [contact(people[0]!)], messages: [flowReplyMessage(people[0]!, booking)] }),
    );
    for (const p of people.slice(0, 2)) {
      await postWebhook(
        t,
        delivery({ contacts: [contact(p)], messages: [flowReplyMessage(p, deletion(p))] }),
      );
    }
    let text = await scrape();
    const tenant = { tenant: 'default' };
    expect(metricValue(text, 'flowguard_dsar_completion_rate', tenant)).toBe(1);
    expect(
      metricValue(text, 'flowguard_dsar_requests', { ...tenant, type: 'erasure', status: 'completed' }),
    ).toBe(2);
    expect(metricValue(text, 'flowguard_flow_completions', tenant)).toBe(6);
    expect(metricValue(text, 'flowguard_erasure_requests', tenant)).toBe(2);
    expect(metricValue(text, 'flowguard_trust_coefficient', tenant)).toBe(3);
    expect(text).toContain('# TYPE flowguard_deletion_latency_seconds histogram');
    expect(metricValue(text, 'flowguard_deletion_latency_seconds_count', tenant)).toBe(2);
    expect(metricValue(text, 'flowguard_deletion_latency_seconds_bucket', { ...tenant, le: '5' })).toBe(2);
    expect(metricValue(text, 'flowguard_post_deletion_reengagement_rate', tenant)).toBe(0);

    // One of the two erased people writes again: re-engagement 1 of 2.
    await postWebhook(
      t,
      delivery({ contacts: [contact(people[1]!)], messages: [textMessage(people[1]!, 'hi again')] }),
    );
    text = await scrape();
    expect(metricValue(text, 'flowguard_post_deletion_reengagement_rate', tenant)).toBe(0.5);
    // Labels never carry anything about a person.
    for (const p of people) {
      expect(text).not.toContain(p.waId);
      expect(text).not.toContain(p.name);
    }
  });
});
