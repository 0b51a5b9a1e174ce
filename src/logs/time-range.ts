import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { normaliseDateTime } from '../platform/odata/index.js';

/*
 * The time windows of `rekey logs export` and `rekey logs summary`: a duration back from now
 * (`7d`, `24h`, `30m`) or a point in time (`2026-11-01T00:00:00Z`, or a bare date taken as
 * midnight UTC). Everything comes out in the stored form (`Date.toISOString()`), which sorts
 * correctly as text against `created_at` / `activity_at`.
 */

/** A half-open window: rows at `since` or later and strictly before `until`. */
export interface LogTimeRange {
  readonly since: string;
  readonly until: string;
}

const DURATION = /^(\d{1,7})([dhm])$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const unitMs: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

function invalidTime(option: string, raw: string, problem: string): RekeyError {
  return new RekeyError(Codes.InvalidLogTimeRange, {
    message: `${option} ${JSON.stringify(raw)} is not valid: ${problem}.`,
    details: { option, value: raw },
  });
}

/**
 * Reads one time argument (`--since`, `--until`) relative to `now`. A bad value is a 7700601
 * InvalidLogTimeRange naming the option and the value.
 */
export function parseLogTime(option: string, raw: string, now: Date): string {
  const text = raw.trim();
  const duration = DURATION.exec(text);
  if (duration) {
    const amount = Number(duration[1]);
    const unit = unitMs[(duration[2] ?? '').toLowerCase()] ?? 0;
    if (amount === 0) throw invalidTime(option, raw, 'a duration must be at least 1 (e.g. 7d, 24h, 30m)');
    const time = now.getTime() - amount * unit;
    // Far enough back the year leaves 0000-9999, whose ISO form would not sort as text.
    const iso = Number.isFinite(time) ? new Date(time).toISOString() : '';
    if (!/^\d{4}-/.test(iso)) throw invalidTime(option, raw, 'the duration reaches back too far');
    return iso;
  }
  const normalised = normaliseDateTime(DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text);
  if (typeof normalised === 'string') {
    throw invalidTime(
      option,
      raw,
      `use a duration such as 7d, 24h or 30m, or a date-time such as 2026-11-01T00:00:00Z (${normalised})`,
    );
  }
  return normalised.iso;
}

/**
 * The window from `--since` (default `defaultSince`) to `--until` (default `now`). `until`
 * defaults to the moment the command starts, so that an export of a busy log still ends, and its
 * count matches what it writes.
 */
export function resolveLogTimeRange(
  input: { readonly since?: string | undefined; readonly until?: string | undefined },
  now: Date,
  defaultSince: string,
): LogTimeRange {
  const since = parseLogTime('--since', input.since ?? defaultSince, now);
  const until = input.until === undefined ? now.toISOString() : parseLogTime('--until', input.until, now);
  if (since >= until) {
    throw new RekeyError(Codes.InvalidLogTimeRange, {
      message: `--since (${since}) must be earlier than --until (${until}).`,
      details: { since, until },
    });
  }
  return { since, until };
}
