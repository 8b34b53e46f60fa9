import type { ColumnOptions } from 'typeorm';

/** Millisecond timestamps, stored as UTC on both MySQL (`timezone: 'Z'`) and SQLite. */
export const timestamp = (options: ColumnOptions = {}): ColumnOptions => ({
  type: 'datetime',
  precision: 3,
  ...options,
});

/**
 * What a `simple-json` column holds: a JsonValue (the mappers read it back as one), declared without the
 * recursion TypeORM's insert types cannot expand.
 */
export type StoredJson = string | number | boolean | null | object;
