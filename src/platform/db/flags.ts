import type { Flag } from './schema.js';

export function toFlag(value: boolean): Flag {
  return value ? 1 : 0;
}

export function fromFlag(value: number | null): boolean | null {
  return value === null ? null : value === 1;
}
