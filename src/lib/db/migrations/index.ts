import * as m0001 from './0001_foundation.js';

/** Numbered, forward-only. Append new migrations; never edit one that has shipped. */
export const migrations: { version: number; name: string; up: string }[] = [
  { version: 1, name: 'foundation', up: m0001.up },
];
