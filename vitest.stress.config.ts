import { defineConfig } from 'vitest/config';

/** `npm run test:stress`: the long reliability runs (crash loops, 10-minute mixed load) kept out of `npm test`. */
export default defineConfig({
  test: {
    include: ['test/stress/**/*.stress.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
    globalSetup: ['test/global-setup.ts'],
  },
});
