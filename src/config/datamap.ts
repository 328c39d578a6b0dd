import { z } from 'zod';

/**
 * The data map: every system outside flowguard that holds people's data, and where in it a person is found.
 * Validated at start-up; an error names the system and the key. Identifier values never appear in SQL text
 * (they are bound parameters); table and column names are checked here and quoted by the connectors.
 */

export const SYSTEM_TYPES = [
  'postgres',
  'mysql',
  'redis',
  's3',
  'azure-blob',
  'hubspot',
  'http',
  'logfiles',
] as const;
export type SystemType = (typeof SYSTEM_TYPES)[number];

export const IDENTITY_FORMATS = ['e164', 'digits', 'bsuid'] as const;
export type IdentityFormat = (typeof IDENTITY_FORMATS)[number];

/** A SQL identifier, optionally schema-qualified: letters, digits, underscore; quoted when used. */
const sqlName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be a plain SQL identifier (letters, digits, _)');
const sqlTable = z
  .string()
  .regex(/^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be table or schema.table');

const systemId = z
  .string()
  .regex(/^(?!.*\d{6})[a-z][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _, starting with a letter');

const category = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lowercase letters, digits and _');
const retain = z.object({ reason: z.string().min(3).max(500) }).strict();

export const collectionSchema = z
  .object({
    table: sqlTable,
    identity: z.object({ column: sqlName, format: z.enum(IDENTITY_FORMATS) }).strict(),
    erase: z
      .union([z.literal('delete'), z.object({ mask: z.array(sqlName).min(1) }).strict()])
      .default('delete'),
    access: z.array(sqlName).optional(),
    category: category.default('other'),
    /** Kept under a legal obligation (GDPR Art. 17(3)(b), e.g. billing): recorded in the proof, never erased. */
    retain: retain.optional(),
    /**
     * Storage limitation: rows whose `column` (a timestamp) is older than `days` are deleted (or masked, with
     * `erase: {mask}`) by the retention sweeper, request or no request; for retained collections, this is the
     * end of the legal period.
     */
    retention: z
      .object({ column: sqlName, days: z.number().int().min(1).max(36_500) })
      .strict()
      .optional(),
  })
  .strict();
export type CollectionSpec = z.infer<typeof collectionSchema>;

/** Object keys listed in a SQL column (e.g. media_url): the object store erases the objects those rows point to. */
const keysFromSql = z
  .object({
    system: systemId,
    table: sqlTable,
    identity: z.object({ column: sqlName, format: z.enum(IDENTITY_FORMATS) }).strict(),
    keyColumn: sqlName,
  })
  .strict();

const template = z
  .string()
  .min(1)
  .max(512)
  .refine((t) => /\{(e164|digits|bsuid)\}/.test(t), 'must contain {e164}, {digits} or {bsuid}');

const base = {
  id: systemId,
  name: z.string().max(200).optional(),
  category: category.optional(),
  /** A third party (CRM, messaging provider): listed as a recipient in access reports (GDPR Art. 19). */
  recipient: z.boolean().optional(),
  retain: retain.optional(),
};

const sqlSystem = <T extends 'postgres' | 'mysql'>(type: T) =>
  z
    .object({
      ...base,
      type: z.literal(type),
      url: z.string().min(1),
      collections: z.array(collectionSchema).min(1),
    })
    .strict();

export const systemSchema = z.discriminatedUnion('type', [
  sqlSystem('postgres'),
  sqlSystem('mysql'),
  z
    .object({
      ...base,
      type: z.literal('redis'),
      url: z.string().min(1),
      /** Key templates; `*` wildcards are expanded with SCAN. `{key, field}` names a field of a hash. */
      keys: z
        .array(z.union([template, z.object({ key: z.string().min(1).max(512), field: template }).strict()]))
        .min(1),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('s3'),
      bucket: z.string().min(3).max(63),
      region: z.string().min(1).default('us-east-1'),
      endpoint: z.url().optional(),
      forcePathStyle: z.boolean().optional(),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      prefixes: z.array(template).default([]),
      keysFromSql: z.array(keysFromSql).default([]),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('azure-blob'),
      connectionString: z.string().min(1),
      container: z.string().min(3).max(63),
      prefixes: z.array(template).default([]),
      keysFromSql: z.array(keysFromSql).default([]),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('hubspot'),
      token: z.string().min(1),
      baseUrl: z.url().default('https://api.hubapi.com'),
      phoneProperties: z.array(z.string().regex(/^[a-z0-9_]{1,100}$/)).default(['phone', 'mobilephone']),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('http'),
      url: z.url(),
      secret: z.string().min(16),
      timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    })
    .strict(),
  z
    .object({
      ...base,
      type: z.literal('logfiles'),
      paths: z.array(z.string().min(1)).min(1),
      format: z.enum(['jsonl', 'text']).default('text'),
    })
    .strict(),
]);
export type SystemSpec = z.infer<typeof systemSchema>;

export const dataMapSchema = z.array(systemSchema).superRefine((systems, ctx) => {
  const seen = new Set<string>();
  systems.forEach((s, i) => {
    if (s.id === 'flowguard')
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: '"flowguard" is reserved' });
    if (seen.has(s.id))
      ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate system id ${s.id}` });
    seen.add(s.id);
  });
  systems.forEach((s, i) => {
    if ((s.type === 's3' || s.type === 'azure-blob') && s.prefixes.length + s.keysFromSql.length === 0) {
      ctx.addIssue({ code: 'custom', path: [i, 'prefixes'], message: 'give prefixes and/or keysFromSql' });
    }
    if (s.type === 's3' || s.type === 'azure-blob') {
      s.keysFromSql.forEach((k, j) => {
        const src = systems.find((x) => x.id === k.system);
        if (!src || (src.type !== 'postgres' && src.type !== 'mysql')) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'keysFromSql', j, 'system'],
            message: 'must name a postgres or mysql system of the data map',
          });
        }
      });
    }
  });
});

/** Where a data-map error is: `systems[2](crm).collections.0.identity.format`. */
export function dataMapPath(raw: unknown[], path: PropertyKey[]): string {
  const [index, ...rest] = path;
  const entry = typeof index === 'number' ? raw[index] : undefined;
  const id =
    entry && typeof entry === 'object' && typeof (entry as { id?: unknown }).id === 'string'
      ? `(${(entry as { id: string }).id})`
      : '';
  return [`systems[${String(index ?? '')}]${id}`, ...rest.map(String)].join('.');
}

/**
 * For an erasure: the systems that must finish before `systemId` may run. An object store that finds object
 * keys in a SQL system's rows erases first; otherwise the rows (and with them the keys) would be gone.
 */
export function mustWaitFor(systems: readonly SystemSpec[], systemId: string): string[] {
  return systems
    .filter(
      (s) => (s.type === 's3' || s.type === 'azure-blob') && s.keysFromSql.some((k) => k.system === systemId),
    )
    .map((s) => s.id);
}
