import type { ColumnType } from 'kysely';

/** Column types shared by the table definitions (./schema.ts and its parts). */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type Json<T = unknown> = ColumnType<T, string, string>;
