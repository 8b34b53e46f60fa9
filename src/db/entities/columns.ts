import type { ColumnOptions } from 'typeorm';

import type { JsonValue } from '../../domain/types';

/** Millisecond timestamps, stored as UTC on both MySQL (`timezone: 'Z'`) and SQLite. */
export const timestamp = (options: ColumnOptions = {}): ColumnOptions => ({
  type: 'datetime',
  precision: 3,
  ...options,
});

/** JSON values are kept as text so one column type works on MySQL and SQLite alike. */
export const toJsonText = (value: JsonValue | undefined): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

export const fromJsonText = (text: string | null): JsonValue => (text === null ? null : JSON.parse(text));
