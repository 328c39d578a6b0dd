import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { tenantSettingsSchema, type TenantSettings } from '../../config/config.js';
import type { Keyring } from '../../lib/crypto/index.js';
import type { DB } from '../../lib/db/schema.js';
import { AppError } from '../../lib/errors.js';
import { createTenantsRepo } from './tenants.repo.js';

/**
 * Tenants with their secrets opened and their Flows private key parsed once. Lookups hit an in-memory map;
 * a miss reloads from the store, so a tenant added by another instance (or the CLI) is found without restart.
 */

export interface TenantSecrets {
  appSecret: string;
  verifyToken: string;
  accessToken?: string | undefined;
  flowsPrivateKeyPem?: string | undefined;
  flowsPrivateKeyPassphrase?: string | undefined;
}

export interface Tenant {
  id: string;
  name: string;
  phoneNumberId: string | null;
  businessAccountId: string | null;
  isDefault: boolean;
  settings: TenantSettings;
  secrets: TenantSecrets;
  /** The Flows endpoint private key, parsed once; undefined when the tenant has none. */
  flowsPrivateKey: crypto.KeyObject | undefined;
}

export function secretsAad(tenantId: string): string {
  return `tenants.secrets.${tenantId}`;
}

export type PrivateKeyParser = (pem: string, passphrase?: string) => crypto.KeyObject;

const defaultParser: PrivateKeyParser = (pem, passphrase) =>
  crypto.createPrivateKey(passphrase ? { key: pem, passphrase } : { key: pem });

export function createTenantRegistry(deps: {
  db: Kysely<DB>;
  keyring: Keyring;
  parsePrivateKey?: PrivateKeyParser;
  refreshMs?: number;
}) {
  const repo = createTenantsRepo(deps.db);
  const parseKey = deps.parsePrivateKey ?? defaultParser;
  let byId = new Map<string, Tenant>();
  let byPhone = new Map<string, Tenant>();
  let defaultTenant: Tenant | undefined;
  let loadedAt = 0;
  const refreshMs = deps.refreshMs ?? 30_000;

  function toTenant(row: Awaited<ReturnType<typeof repo.list>>[number], previous?: Tenant): Tenant {
    const secrets = JSON.parse(deps.keyring.openSecret(row.secrets, secretsAad(row.id))) as TenantSecrets;
    const sameKey =
      previous &&
      previous.secrets.flowsPrivateKeyPem === secrets.flowsPrivateKeyPem &&
      previous.secrets.flowsPrivateKeyPassphrase === secrets.flowsPrivateKeyPassphrase;
    let flowsPrivateKey = sameKey ? previous.flowsPrivateKey : undefined;
    if (!sameKey && secrets.flowsPrivateKeyPem) {
      try {
        flowsPrivateKey = parseKey(secrets.flowsPrivateKeyPem, secrets.flowsPrivateKeyPassphrase);
      } catch {
        flowsPrivateKey = undefined; // reported by `readyz`/start-up; the endpoint answers 421 for this tenant
      }
    }
    return {
      id: row.id,
      name: row.name,
      phoneNumberId: row.phone_number_id,
      businessAccountId: row.business_account_id,
      isDefault: row.is_default,
      settings: tenantSettingsSchema.parse(row.settings ?? {}),
      secrets,
      flowsPrivateKey,
    };
  }

  async function reload(): Promise<void> {
    const rows = await repo.list();
    const nextById = new Map<string, Tenant>();
    const nextByPhone = new Map<string, Tenant>();
    let nextDefault: Tenant | undefined;
    for (const row of rows) {
      const tenant = toTenant(row, byId.get(row.id));
      nextById.set(tenant.id, tenant);
      if (tenant.phoneNumberId) nextByPhone.set(tenant.phoneNumberId, tenant);
      if (tenant.isDefault) nextDefault = tenant;
    }
    byId = nextById;
    byPhone = nextByPhone;
    defaultTenant = nextDefault;
    loadedAt = Date.now();
  }

  let reloading: Promise<void> | undefined;
  /**
   * Past `refreshMs` the tenants are read again in the background, and this call is served from memory: the
   * caller may be inside a transaction (a request carried out reads its tenant's settings), and on the embedded
   * store that transaction holds the only session, so waiting here for the read would wait forever. Only the
   * very first load is waited for.
   */
  async function fresh(): Promise<void> {
    if (Date.now() - loadedAt <= refreshMs) return;
    reloading ??= reload()
      .catch(() => undefined) // the next call tries again
      .finally(() => {
        reloading = undefined;
      });
    if (loadedAt === 0) await reloading;
  }

  return {
    reload,
    async all(): Promise<Tenant[]> {
      await fresh();
      return [...byId.values()];
    },
    async get(id: string): Promise<Tenant> {
      await fresh();
      let t = byId.get(id);
      // A miss reloads at most once a second: unknown ids from the network must not turn into store load.
      if (!t && Date.now() - loadedAt > 1000) {
        await reload();
        t = byId.get(id);
      }
      if (!t) throw new AppError('TENANT_NOT_FOUND', { tenant: id });
      return t;
    },
    async getDefault(): Promise<Tenant> {
      await fresh();
      if (!defaultTenant) await reload();
      if (!defaultTenant) throw new AppError('TENANT_NOT_FOUND', { tenant: 'default' });
      return defaultTenant;
    },
    /**
     * Route by Meta's phone_number_id. A default tenant without a phone_number_id of its own receives numbers no
     * tenant claims (single-tenant set-ups that have not configured WHATSAPP_PHONE_NUMBER_ID yet).
     */
    async byPhoneNumberId(phoneNumberId: string): Promise<Tenant | undefined> {
      await fresh();
      let t = byPhone.get(phoneNumberId);
      if (!t && Date.now() - loadedAt > 1000) {
        await reload();
        t = byPhone.get(phoneNumberId);
      }
      if (t) return t;
      return defaultTenant && !defaultTenant.phoneNumberId ? defaultTenant : undefined;
    },
  };
}

export type TenantRegistry = ReturnType<typeof createTenantRegistry>;
