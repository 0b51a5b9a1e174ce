import { setTimeout as sleep } from 'node:timers/promises';
import { recordAudit } from '../audit/audit-service.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/log.js';
import type { RequestContext } from '../platform/request-context.js';
import {
  countLogRowsBefore,
  deleteAuditTargetsBefore,
  deleteLogRowsBefore,
  listTenantIds,
} from './log-retention-store.js';

export interface LogRetentionDeps {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retentionDays: number;
  /** Rows per delete statement (default 1000). */
  readonly batchSize?: number;
  /** Pause between two batches, so other writers get the database (default 50 ms). */
  readonly pauseMs?: number;
  /** Time from the end of one background run to the start of the next (default 10 minutes). */
  readonly intervalMs?: number;
}

/** What one purge removed (or, for a dry run, would remove). */
export interface PurgeCounts {
  readonly signIns: number;
  readonly audits: number;
  readonly auditTargets: number;
  /** Rows of the connector trace (connector_operations): the directory calls connector health reads. */
  readonly connectorCalls: number;
  /** Event-log entries (docs/event-log.md). */
  readonly events: number;
  /** Exchanges recorded by HTTP captures (docs/captures.md). */
  readonly captureEntries: number;
  /** Captures whose window ended before the cutoff. */
  readonly captures: number;
  /** Delete statements run (0 for a dry run). */
  readonly batches: number;
  /** Rows created before this time are past retention. */
  readonly cutoff: string;
}

export interface LogRetention {
  /** Purges now in the background, then again every interval. */
  start(): void;
  /** Stops and waits for a running batch to finish. */
  stop(): Promise<void>;
  /**
   * Purges everything past retention now, batch by batch; returns the rows removed. With
   * `requestedBy` (an operator's `rekey logs purge`), the purge is audited in that tenant's log:
   * deleting audit rows on demand is itself an action an auditor must be able to see.
   */
  purgeNow(requestedBy?: {
    readonly context: RequestContext;
    readonly tenantId: string;
  }): Promise<PurgeCounts>;
  /** Counts what purgeNow would remove, deleting nothing. */
  countExpired(): Promise<PurgeCounts>;
}

const dayMs = 86_400_000;

/**
 * Background purge of sign-in and audit rows, of the connector trace, the event log and HTTP
 * captures, older than the retention. Each statement deletes at
 * most one batch, oldest first, and a short pause follows each full batch, so that a large backlog
 * (after retention is shortened, or the first start over a big imported log) never holds SQLite's
 * one writer, or PostgreSQL row locks, for longer than one batch. Any number of processes may
 * purge at once: each batch deletes whatever is still there (see log-retention-store.ts).
 */
export function createLogRetention(deps: LogRetentionDeps): LogRetention {
  const { db, clock, logger, retentionDays } = deps;
  const batchSize = deps.batchSize ?? 1000;
  const pauseMs = deps.pauseMs ?? 50;
  const intervalMs = deps.intervalMs ?? 10 * 60_000;
  let stopper = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  const inFlight = new Set<Promise<unknown>>();

  const cutoffNow = () => new Date(clock.now().getTime() - retentionDays * dayMs).toISOString();

  /** Runs `deleteBatch` until a batch comes back short (nothing left) or a stop is asked for. */
  async function drain(
    signal: AbortSignal,
    deleteBatch: () => Promise<number>,
  ): Promise<{ rows: number; batches: number }> {
    let rows = 0;
    let batches = 0;
    while (!signal.aborted) {
      const deleted = await deleteBatch();
      rows += deleted;
      batches += 1;
      if (deleted < batchSize) break;
      // Not unref'd: `rekey logs purge` has nothing else keeping the process alive mid-purge.
      await sleep(pauseMs, undefined, { signal }).catch(() => {});
    }
    return { rows, batches };
  }

  async function purge(signal: AbortSignal): Promise<PurgeCounts> {
    const cutoff = cutoffNow();
    const totals = {
      signIns: 0,
      audits: 0,
      auditTargets: 0,
      connectorCalls: 0,
      events: 0,
      captureEntries: 0,
      captures: 0,
      batches: 0,
    };
    for (const tenantId of await listTenantIds(db.kysely)) {
      const signIns = await drain(signal, () =>
        deleteLogRowsBefore(db, 'sign_ins', tenantId, cutoff, batchSize),
      );
      // Events first, then their targets: a crash in between leaves only target rows no query sees.
      const audits = await drain(signal, () =>
        deleteLogRowsBefore(db, 'directory_audits', tenantId, cutoff, batchSize),
      );
      const targets = await drain(signal, () => deleteAuditTargetsBefore(db, tenantId, cutoff, batchSize));
      const calls = await drain(signal, () =>
        deleteLogRowsBefore(db, 'connector_operations', tenantId, cutoff, batchSize),
      );
      totals.signIns += signIns.rows;
      totals.audits += audits.rows;
      totals.auditTargets += targets.rows;
      const events = await drain(signal, () =>
        deleteLogRowsBefore(db, 'event_log', tenantId, cutoff, batchSize),
      );
      // Entries before their captures: an entry whose capture is gone would be read by no one.
      const entries = await drain(signal, () =>
        deleteLogRowsBefore(db, 'capture_entries', tenantId, cutoff, batchSize),
      );
      const captures = await drain(signal, () =>
        deleteLogRowsBefore(db, 'captures', tenantId, cutoff, batchSize),
      );
      totals.connectorCalls += calls.rows;
      totals.events += events.rows;
      totals.captureEntries += entries.rows;
      totals.captures += captures.rows;
      totals.batches +=
        signIns.batches +
        audits.batches +
        targets.batches +
        calls.batches +
        events.batches +
        entries.batches +
        captures.batches;
    }
    return { ...totals, cutoff };
  }

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    const forget = () => inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  async function backgroundRun(): Promise<void> {
    const startedAt = Date.now();
    const { signal } = stopper;
    try {
      const counts = await track(purge(signal));
      logger.info(
        { ...counts, retentionDays, durationMs: Date.now() - startedAt, stopped: signal.aborted },
        'log retention: purged rows past retention',
      );
    } catch (error) {
      logger.error({ err: error, retentionDays }, 'log retention run failed; retrying at the next run');
    }
  }

  function schedule(delay: number): void {
    if (!started) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void backgroundRun().then(() => schedule(intervalMs));
    }, delay);
    // A pending run must never keep a process alive that is otherwise done.
    timer.unref();
  }

  return {
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      timer = undefined;
      // Runs in progress end after their current batch; later calls get a fresh signal.
      const current = stopper;
      stopper = new AbortController();
      current.abort();
      await Promise.allSettled([...inFlight]);
    },
    async purgeNow(requestedBy) {
      const startedAt = Date.now();
      const counts = await track(purge(stopper.signal));
      logger.info(
        { ...counts, retentionDays, durationMs: Date.now() - startedAt },
        'log retention: purged rows past retention',
      );
      if (requestedBy) {
        await recordAudit(
          db.kysely,
          requestedBy.tenantId,
          requestedBy.context,
          {
            activity: 'purgeLogsPastRetention',
            result: 'success',
            targets: [
              {
                id: 'auditLogs',
                displayName: 'Sign-in and audit logs',
                userPrincipalName: null,
              },
            ],
            additionalDetails: [
              { key: 'signIns', value: String(counts.signIns) },
              { key: 'audits', value: String(counts.audits) },
              { key: 'auditTargets', value: String(counts.auditTargets) },
              { key: 'connectorCalls', value: String(counts.connectorCalls) },
              { key: 'events', value: String(counts.events) },
              { key: 'captureEntries', value: String(counts.captureEntries) },
              { key: 'captures', value: String(counts.captures) },
              { key: 'cutoff', value: counts.cutoff },
              { key: 'retentionDays', value: String(retentionDays) },
            ],
          },
          clock.now().toISOString(),
        );
      }
      return counts;
    },
    async countExpired() {
      const cutoff = cutoffNow();
      const totals = {
        signIns: 0,
        audits: 0,
        auditTargets: 0,
        connectorCalls: 0,
        events: 0,
        captureEntries: 0,
        captures: 0,
      };
      for (const tenantId of await listTenantIds(db.kysely)) {
        const counts = await countLogRowsBefore(db.kysely, tenantId, cutoff);
        totals.signIns += counts.signIns;
        totals.audits += counts.audits;
        totals.auditTargets += counts.auditTargets;
        totals.connectorCalls += counts.connectorCalls;
        totals.events += counts.events;
        totals.captureEntries += counts.captureEntries;
        totals.captures += counts.captures;
      }
      return { ...totals, batches: 0, cutoff };
    },
  };
}
