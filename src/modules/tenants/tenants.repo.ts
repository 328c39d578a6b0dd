import type { Kysely } from 'kysely';
import type { DB } from '../../lib/db/schema.js';

export function createTenantsRepo(db: Kysely<DB>) {
  const columns = [
    'id',
    'name',
    'phone_number_id',
    'business_account_id',
    'secrets',
    'settings',
    'is_default',
    'created_at',
  ] as const;
  return {
    list: () => db.selectFrom('tenants').select(columns).orderBy('created_at').execute(),
    findById: (id: string) =>
      db.selectFrom('tenants').select(columns).where('id', '=', id).executeTakeFirst(),
    findDefault: () =>
      db.selectFrom('tenants').select(columns).where('is_default', '=', true).executeTakeFirst(),
    insert: (row: {
      id: string;
      name: string;
      phone_number_id: string | null;
      business_account_id: string | null;
      secrets: string;
      settings: string;
      is_default: boolean;
    }) => db.insertInto('tenants').values(row).execute(),
    update: (
      id: string,
      patch: Partial<{
        name: string;
        phone_number_id: string | null;
        business_account_id: string | null;
        secrets: string;
        settings: string;
      }>,
    ) =>
      db
        .updateTable('tenants')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', id)
        .execute(),
  };
}

export type TenantsRepo = ReturnType<typeof createTenantsRepo>;
