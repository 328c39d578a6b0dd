import { describe } from 'vitest';
import { storeKinds } from '../helpers/test-app.js';
import { fuzzSuite } from '../integration/fuzz.suite.js';

/** The endpoint fuzz suite (10,000 cases per endpoint) on PostgreSQL; `npm test` runs it on PGlite. */
describe.each(storeKinds().filter((k) => k === 'postgres'))('endpoint fuzzing on %s', (kind) =>
  fuzzSuite(kind),
);
