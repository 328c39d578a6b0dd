import { describe } from 'vitest';
import { fuzzSuite } from './fuzz.suite.js';

/**
 * Every public endpoint under 10,000 generated inputs each, in-process (app.inject) on the embedded store: see
 * fuzz.suite.ts. The same suite runs on PostgreSQL in `npm run test:stress`.
 */
describe('endpoint fuzzing on pglite', () => fuzzSuite('pglite'));
