import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { DEFAULT_RETENTION, RETENTION_CATEGORIES, RETENTION_DEFAULT_DAYS } from './retention.js';

describe('retention and log file settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowguard-retention-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const load = (yaml: string, env: Record<string, string> = {}) => {
    fs.writeFileSync(path.join(dir, 'flowguard.yaml'), yaml);
    return loadConfig({ FLOWGUARD_DATA_DIR: path.join(dir, 'data'), ...env }, dir);
  };
  const refusal = (yaml: string, env: Record<string, string> = {}) => {
    try {
      load(yaml, env);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error('expected a ConfigError');
  };

  it('has a documented default for every category, hourly, in batches of 1,000', () => {
    const c = load('');
    expect(c.retention).toEqual(DEFAULT_RETENTION);
    expect(Object.keys(c.retention.days).sort()).toEqual([...RETENTION_CATEGORIES].sort());
    expect(c.retention.days).toEqual(RETENTION_DEFAULT_DAYS);
    expect(c.retention.days.request_records).toBe(730);
    expect(c.retention.days.audit_log).toBe(2190);
    expect(c.retention.days.erasure_journal).toBe(35);
    expect(c.retention.cron).toBe('11 * * * *');
    expect(c.retention.batchSize).toBe(1000);
    expect(c.logFile).toBeUndefined();
  });

  it('takes periods from the YAML and keeps the other defaults', () => {
    const c = load(
      'retention:\n  batchSize: 200\n  days:\n    flow_responses: 30\n    inactive_contacts: 730\n',
    );
    expect(c.retention.batchSize).toBe(200);
    expect(c.retention.days.flow_responses).toBe(30);
    expect(c.retention.days.inactive_contacts).toBe(730);
    expect(c.retention.days.messages).toBe(90);
  });

  it.each([
    ['request_records', 365, /at least 730 days.*11 CCR 7101/],
    ['audit_log', 700, /at least 730 days/],
    ['processed_events', 3, /at least 7 days.*Meta retries/],
    ['login_throttle', 0, /at least 1 days.*15-minute window/],
    ['erasure_journal', 0, /at least 1 days.*restore-replay/],
    ['media', -1, /negative/],
  ])('refuses %s: %i days, naming the setting', (category, days, why) => {
    const message = refusal(`retention:\n  days:\n    ${category}: ${days}\n`);
    expect(message).toContain(`FLOWGUARD_CONFIG.retention.days.${category}`);
    expect(message).toMatch(why);
  });

  it('refuses an unknown category', () => {
    expect(refusal('retention:\n  days:\n    selfies: 3\n')).toMatch(/retention\.days/);
  });

  it('enables the log file from FLOWGUARD_LOG_FILE or the YAML, at most 14 days', () => {
    const fromEnv = load('', { FLOWGUARD_LOG_FILE: 'logs/fg.log' });
    expect(fromEnv.logFile).toEqual({ path: path.join(dir, 'logs/fg.log'), maxSizeMb: 50, ttlDays: 14 });
    const fromYaml = load('logFile:\n  path: /var/log/fg.log\n  maxSizeMb: 5\n  ttlDays: 7\n');
    expect(fromYaml.logFile).toEqual({ path: '/var/log/fg.log', maxSizeMb: 5, ttlDays: 7 });
    const envWins = load('logFile:\n  path: /var/log/fg.log\n  ttlDays: 7\n', {
      FLOWGUARD_LOG_FILE: '/tmp/x.log',
    });
    expect(envWins.logFile).toEqual({ path: '/tmp/x.log', maxSizeMb: 50, ttlDays: 7 });
    expect(refusal('logFile:\n  path: /var/log/fg.log\n  ttlDays: 30\n')).toMatch(
      /logFile\.ttlDays.*at most 14 days/,
    );
    // Settings without a path (none in the YAML or the environment) leave the file off.
    expect(load('logFile:\n  ttlDays: 7\n').logFile).toBeUndefined();
  });
});
