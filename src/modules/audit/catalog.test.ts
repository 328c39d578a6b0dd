import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AUDIT_EVENT_TYPES, CODE_PATTERN, auditCatalog } from './catalog.js';

/**
 * Every audit event's data is made of ids, codes, counts, durations, enums and booleans, and no field is named
 * like personal data. These walk the zod schemas themselves, so a new event cannot slip a `phone` field or a
 * free-text string past review.
 */

/** Matched against the name lowercased with `_` and `-` removed: these have no innocent use in audit data. */
const PII_SUBSTRINGS = [
  'phone',
  'msisdn',
  'email',
  'bsuid',
  'waid',
  'wamid',
  'token',
  'secret',
  'password',
  'passwd',
];
/** Matched as whole words of a snake_case or camelCase name. */
const PII_WORDS = [
  'name',
  'names',
  'username',
  'text',
  'body',
  'message',
  'content',
  'caption',
  'address',
  'user_id',
  'userid',
  'from',
  'to',
  'sender',
  'recipient',
  'contact',
  'profile',
  'ip',
  'location',
  'birth',
  'dob',
  'handle',
  'media_ref',
];

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_-]+/)
    .filter(Boolean);
}

function personalDataName(name: string): string | undefined {
  const flat = name.toLowerCase().replace(/[_-]/g, '');
  const hit = PII_SUBSTRINGS.find((s) => flat.includes(s));
  if (hit) return hit;
  const w = words(name);
  return PII_WORDS.find((term) => {
    const t = words(term);
    return w.some((_, i) => t.every((part, j) => w[i + j] === part));
  });
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  format?: string;
  checks?: {
    _zod: { def: { check: string; format?: string; pattern?: RegExp; value?: number; inclusive?: boolean } };
  }[];
};
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Problems with one schema: a field named like personal data, or a leaf that is not an allowed kind. */
function walk(schema: z.ZodType, path: string, problems: string[]): void {
  const def = defOf(schema);
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  switch (def.type) {
    case 'object':
      for (const [key, value] of Object.entries(def.shape ?? {})) {
        const hit = personalDataName(key);
        if (hit) problems.push(`${path}.${key}: named like personal data (${hit})`);
        walk(value, `${path}.${key}`, problems);
      }
      return;
    case 'optional':
      return walk(def.innerType!, path, problems);
    case 'array':
      return walk(def.element!, `${path}[]`, problems);
    case 'record':
      if (defOf(def.keyType!).type !== 'enum') problems.push(`${path}: record keys must be a closed enum`);
      return walk(def.valueType!, `${path}{}`, problems);
    case 'enum':
    case 'boolean':
      return;
    case 'number':
      if (!checks.some((c) => c.format === 'safeint'))
        problems.push(`${path}: number that is not an integer`);
      if (!checks.some((c) => c.check === 'greater_than' && c.value === 0 && c.inclusive)) {
        problems.push(`${path}: number that may be negative`);
      }
      return;
    case 'string':
      if (def.format === 'uuid') return;
      if (checks.some((c) => c.format === 'regex' && c.pattern?.source === CODE_PATTERN.source)) return;
      problems.push(`${path}: free-form string`);
      return;
    default:
      problems.push(`${path}: ${def.type} is not an allowed audit field`);
  }
}

function problemsOf(schema: z.ZodType, path = 'data'): string[] {
  const problems: string[] = [];
  walk(schema, path, problems);
  return problems;
}

describe('audit event catalog', () => {
  it('holds only ids, codes, counts, durations, enums and booleans, none named like personal data', () => {
    expect(AUDIT_EVENT_TYPES.length).toBeGreaterThanOrEqual(17);
    const problems = AUDIT_EVENT_TYPES.flatMap((type) => problemsOf(auditCatalog[type], type));
    expect(problems).toEqual([]);
  });

  it('the walk catches personal-data names and free-form leaves (so the test above can fail)', () => {
    const bad = z.strictObject({
      phone_number: z.uuid(),
      waId: z.uuid(),
      user_id: z.uuid(),
      profile_name: z.enum(['x']),
      message: z.boolean(),
      flow_token_id: z.uuid(),
      recipientAddress: z.boolean(),
      note: z.string(),
      nested: z.array(z.strictObject({ email: z.boolean(), score: z.number() })),
      loose: z.record(z.string(), z.number().int().nonnegative()),
      blob: z.unknown(),
    });
    const problems = problemsOf(bad);
    for (const field of ['phone_number', 'waId', 'user_id', 'profile_name', 'message', 'flow_token_id']) {
      expect(problems.some((p) => p.startsWith(`data.${field}:`))).toBe(true);
    }
    expect(problems).toContain('data.recipientAddress: named like personal data (address)');
    expect(problems).toContain('data.note: free-form string');
    expect(problems).toContain('data.nested[].email: named like personal data (email)');
    expect(problems).toContain('data.nested[].score: number that is not an integer');
    expect(problems).toContain('data.loose: record keys must be a closed enum');
    expect(problems).toContain('data.blob: unknown is not an allowed audit field');
  });

  it('names that only look close are not flagged', () => {
    for (const ok of [
      'inbound',
      'api_key_id',
      'duration_ms',
      'systems',
      'failed_systems',
      'rows',
      'conversation_archive',
    ]) {
      expect(personalDataName(ok), ok).toBeUndefined();
    }
    expect(personalDataName('tokenCount')).toBe('token');
    expect(personalDataName('contentType')).toBe('content');
  });

  it('a configuration code cannot be a phone number or free text', () => {
    for (const good of ['crm', 'billing_db', 'privacy_center', 's3-media', 'a1b2c3d4e5']) {
      expect(CODE_PATTERN.test(good), good).toBe(true);
    }
    for (const bad of [
      '15550100123',
      'crm15550100123',
      '+15550100123',
      'John Smith',
      'x'.repeat(64),
      'Crm',
      '',
    ]) {
      expect(CODE_PATTERN.test(bad), bad).toBe(false);
    }
  });
});
