import type { Kysely } from 'kysely';
import { errorCodeName } from '../logs/log-summary.js';
import { parseLogTime } from '../logs/time-range.js';
import type { Database } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { OperationOutcomes, ReportInterval, ReportQuery, SignInActivity } from './report-schemas.js';
import { countOperationsByBucket, countSignInsByBucket, type PrefixLength } from './report-store.js';

/*
 * The portal's charts: the window and its buckets (every one, empty ones included, so a chart's
 * axis is even), filled from the store's grouped counts.
 */

const intervals: Readonly<
  Record<ReportInterval, { readonly ms: number; readonly prefix: PrefixLength; readonly maxBuckets: number }>
> = {
  hour: { ms: 3_600_000, prefix: 13, maxBuckets: 31 * 24 },
  day: { ms: 86_400_000, prefix: 10, maxBuckets: 366 },
};

/** A report's window: its buckets' starts (ISO) and the stored-time prefix of each. */
export interface ReportWindow {
  readonly since: string;
  readonly until: string;
  readonly interval: ReportInterval;
  readonly buckets: ReadonlyArray<{ readonly start: string; readonly prefix: string }>;
}

/**
 * The window of a report query at `now`: `since` (default 24h) rounded down to the interval,
 * `until` (default now). 7700601 for a time that is not one, a window that ends before it starts,
 * or one with more buckets than the interval allows (31 days of hours, 366 days).
 */
export function resolveReportWindow(query: ReportQuery, now: Date): ReportWindow {
  const interval = query.interval ?? 'hour';
  const { ms, prefix, maxBuckets } = intervals[interval];
  const sinceTime = Date.parse(parseLogTime('since', query.since ?? '24h', now));
  const until = query.until === undefined ? now.toISOString() : parseLogTime('until', query.until, now);
  const start = Math.floor(sinceTime / ms) * ms;
  const untilTime = Date.parse(until);
  if (start >= untilTime)
    throw new RekeyError(Codes.InvalidLogTimeRange, {
      message: `since (${new Date(sinceTime).toISOString()}) must be earlier than until (${until}).`,
      details: { since: query.since ?? '24h', until },
    });
  const count = Math.ceil((untilTime - start) / ms);
  if (count > maxBuckets)
    throw new RekeyError(Codes.InvalidLogTimeRange, {
      message: `A report by ${interval} covers at most ${maxBuckets} ${interval}s; this window has ${count}. Choose a later since, an earlier until, or interval=day.`,
      details: { interval, buckets: count, maxBuckets },
    });
  const buckets = Array.from({ length: count }, (_, index) => {
    const iso = new Date(start + index * ms).toISOString();
    return { start: iso, prefix: iso.slice(0, prefix) };
  });
  return { since: buckets[0]?.start ?? new Date(start).toISOString(), until, interval, buckets };
}

/** Counts by code, most frequent first, with the catalog name of each. */
function rankCodes(counts: ReadonlyMap<number, number>) {
  return [...counts]
    .map(([errorCode, count]) => ({ errorCode, name: errorCodeName(errorCode), count }))
    .sort((a, b) => b.count - a.count || a.errorCode - b.errorCode);
}

function add(map: Map<number, number>, key: number, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

/** Sign-ins per bucket, by result and by code. */
export async function signInActivity(
  db: Kysely<Database>,
  tenantId: string,
  query: ReportQuery,
  now: Date,
): Promise<SignInActivity> {
  const window = resolveReportWindow(query, now);
  const rows = await countSignInsByBucket(db, tenantId, window, intervals[window.interval].prefix);
  const byBucket = new Map<string, Map<number, number>>();
  const overall = new Map<number, number>();
  for (const row of rows) {
    const codes = byBucket.get(row.bucket) ?? new Map<number, number>();
    byBucket.set(row.bucket, codes);
    add(codes, row.key, row.count);
    if (row.key !== 0) add(overall, row.key, row.count);
  }
  return {
    sinceDateTime: window.since,
    untilDateTime: window.until,
    interval: window.interval,
    buckets: window.buckets.map(({ start, prefix }) => {
      const codes = byBucket.get(prefix) ?? new Map<number, number>();
      const failures = [...codes]
        .filter(([code]) => code !== 0)
        .map(([errorCode, count]) => ({ errorCode, count }))
        .sort((a, b) => b.count - a.count || a.errorCode - b.errorCode);
      return {
        startDateTime: start,
        succeeded: codes.get(0) ?? 0,
        failed: failures.reduce((sum, entry) => sum + entry.count, 0),
        errorCodes: failures,
      };
    }),
    errorCodes: rankCodes(overall),
  };
}

/** Password operations per bucket, by outcome. */
export async function operationOutcomes(
  db: Kysely<Database>,
  tenantId: string,
  query: ReportQuery,
  now: Date,
): Promise<OperationOutcomes> {
  const window = resolveReportWindow(query, now);
  const rows = await countOperationsByBucket(db, tenantId, window, intervals[window.interval].prefix);
  const byBucket = new Map<string, { succeeded: number; terminated: number; inProgress: number }>();
  const terminated = new Map<number, number>();
  for (const row of rows) {
    const counts = byBucket.get(row.bucket) ?? { succeeded: 0, terminated: 0, inProgress: 0 };
    byBucket.set(row.bucket, counts);
    if (row.key.state === 'succeeded') counts.succeeded += row.count;
    else if (row.key.state === 'terminated') {
      counts.terminated += row.count;
      add(terminated, row.key.errorCode ?? 0, row.count);
    } else counts.inProgress += row.count;
  }
  return {
    sinceDateTime: window.since,
    untilDateTime: window.until,
    interval: window.interval,
    buckets: window.buckets.map(({ start, prefix }) => ({
      startDateTime: start,
      ...(byBucket.get(prefix) ?? { succeeded: 0, terminated: 0, inProgress: 0 }),
    })),
    terminatedCodes: rankCodes(terminated),
  };
}
