import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../clock.js';
import { preparedQuery } from '../db/prepared-query.js';
import type { Database } from '../db/schema.js';

/** One counted request: the count of its key in the current window, and when the window ends. */
export interface CountedRequest {
  readonly count: number;
  /** Milliseconds until the window ends and the count starts again from zero. */
  readonly msLeft: number;
}

/** Counts requests per key in fixed windows, in the database every process shares. */
export interface RateLimitCounter {
  /** Adds one request of `bucket` to the window of `windowMs` that `now` falls in; returns its count. */
  count(bucket: string, windowMs: number): Promise<CountedRequest>;
  /** The count of `bucket` in the current window, without adding to it. */
  peek(bucket: string, windowMs: number): Promise<CountedRequest>;
}

/**
 * The database counter: one upsert per request (`insert ... on conflict do update ... returning`,
 * which SQLite and PostgreSQL both run as one statement), keyed by the bucket and the window's
 * index. Rows of ended windows are deleted once per window and process, not per request.
 */
const countedRequest = preparedQuery((db, p: { bucket: string; windowIndex: number; windowEnd: number }) =>
  db
    .insertInto('rate_limit_counters')
    .values({ bucket: p.bucket, window_index: p.windowIndex, count: 1, window_end_ms: p.windowEnd })
    .onConflict((conflict) =>
      conflict
        .columns(['bucket', 'window_index'])
        .doUpdateSet({ count: sql<number>`rate_limit_counters.count + 1` }),
    )
    .returning('count'),
);

export function createRateLimitCounter(db: Kysely<Database>, clock: Clock): RateLimitCounter {
  const lastPurgedEnd = new Map<number, number>();
  async function purge(windowMs: number, now: number, windowEnd: number): Promise<void> {
    if ((lastPurgedEnd.get(windowMs) ?? 0) >= windowEnd) return;
    lastPurgedEnd.set(windowMs, windowEnd);
    await db.deleteFrom('rate_limit_counters').where('window_end_ms', '<=', now).execute();
  }
  return {
    async count(bucket, windowMs) {
      const now = clock.now().getTime();
      const windowIndex = Math.floor(now / windowMs);
      const windowEnd = (windowIndex + 1) * windowMs;
      // Every limited request runs it: prepared once.
      const [row] = (await countedRequest(db, { bucket, windowIndex, windowEnd })).rows;
      if (!row) throw new Error('the rate-limit upsert returned no count');
      await purge(windowMs, now, windowEnd);
      return { count: Number(row.count), msLeft: windowEnd - now };
    },
    async peek(bucket, windowMs) {
      const now = clock.now().getTime();
      const windowIndex = Math.floor(now / windowMs);
      const row = await db
        .selectFrom('rate_limit_counters')
        .select('count')
        .where('bucket', '=', bucket)
        .where('window_index', '=', windowIndex)
        .executeTakeFirst();
      return { count: Number(row?.count ?? 0), msLeft: (windowIndex + 1) * windowMs - now };
    },
  };
}

/**
 * The counter as a store of @fastify/rate-limit (the class the plugin instantiates). Every route
 * and limiter shares the one table: the bucket names say what is counted.
 */
export function rateLimitStoreOf(counter: RateLimitCounter): FastifyRateLimitStoreCtor {
  class DatabaseRateLimitStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      counter.count(key, timeWindow).then(
        (counted) => callback(null, { current: counted.count, ttl: counted.msLeft }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return DatabaseRateLimitStore;
}
