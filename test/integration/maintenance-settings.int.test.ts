import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestApp, hasService } from '../helpers/test-app.js';

/**
 * A PostgreSQL server without autovacuum never clears what erasures and retention delete, and never refreshes
 * the statistics lookups are planned from: flowguard says so at start-up. The server's own settings decide
 * which answer is right, so the test holds on any server.
 */
describe.runIf(hasService('postgres'))('maintenance settings of the PostgreSQL server', () => {
  it('warns at start-up exactly when autovacuum or track_counts is off, naming the setting', async () => {
    const t = await createTestApp('postgres');
    try {
      const { rows } = await sql<{ autovacuum: string; track_counts: string }>`
        select current_setting('autovacuum') as autovacuum, current_setting('track_counts') as track_counts`.execute(
        t.ctx.database.db,
      );
      const logs = t.logs.text();
      const autovacuumOff = rows[0]!.autovacuum === 'off';
      const countsOff = rows[0]!.track_counts === 'off';
      expect(logs.includes('PostgreSQL runs with autovacuum')).toBe(autovacuumOff);
      expect(logs.includes('track_counts off')).toBe(countsOff);
      if (autovacuumOff || countsOff) expect(logs).toContain('VACUUM (ANALYZE)');
    } finally {
      await t.close();
    }
  });
});

describe('maintenance settings of the embedded store', () => {
  it('are not warned about: PGlite runs no background workers, whatever its settings say', async () => {
    const t = await createTestApp('pglite');
    try {
      expect(t.logs.text()).not.toContain('VACUUM');
    } finally {
      await t.close();
    }
  });
});
