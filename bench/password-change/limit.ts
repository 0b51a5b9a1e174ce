import type { CpuInterference } from '../lib/cpu-accounting.js';
import { runJsonWorker } from '../lib/worker.js';

/** Throughput of one argon2id operation with every core busy. */
export interface LimitFigures {
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Mean wall time of one call while `concurrency` calls run at once. */
  readonly meanMs: number;
  /** Core time one operation costs: cores / (operations per second). */
  readonly coreMsPerOperation: number;
  /**
   * Core time one operation cost by the worker's own CPU clock (every thread, /proc schedstat):
   * unlike coreMsPerOperation, not inflated when something else shares the cores. Absent without /proc.
   */
  readonly measuredCoreMsPerOperation?: number;
  /** CPU others used during the window (undefined without /proc); see cpu-accounting.ts. */
  readonly interference: CpuInterference | undefined;
}

/** What limit-worker.ts prints. */
export interface LimitWorkerOutput {
  readonly concurrency: number;
  readonly hash: LimitFigures;
  readonly verify: LimitFigures;
}

const hasNumbers = (value: unknown, keys: readonly string[]): boolean =>
  typeof value === 'object' &&
  value !== null &&
  keys.every((key) => typeof Reflect.get(value, key) === 'number');

function isFigures(value: unknown): value is LimitFigures {
  if (!hasNumbers(value, ['operations', 'seconds', 'perSecond', 'meanMs', 'coreMsPerOperation']))
    return false;
  const measured =
    typeof value === 'object' && value !== null ? Reflect.get(value, 'interference') : undefined;
  // Absent when /proc is not available; JSON drops undefined fields.
  return measured === undefined || hasNumbers(measured, ['otherCores', 'stealCores']);
}

function isWorkerOutput(value: unknown): value is LimitWorkerOutput {
  if (typeof value !== 'object' || value === null) return false;
  return (
    typeof Reflect.get(value, 'concurrency') === 'number' &&
    isFigures(Reflect.get(value, 'hash')) &&
    isFigures(Reflect.get(value, 'verify'))
  );
}

/**
 * Measures the limit: raw argon2id hashes/s and verifies/s with all cores busy, in a child process
 * whose thread pool is sized to the cores. Takes about 2 × (warm-up + duration).
 */
export async function measureLimit(warmupMs: number, durationMs: number): Promise<LimitWorkerOutput> {
  return runJsonWorker({
    name: 'limit worker',
    script: new URL('./limit-worker.ts', import.meta.url),
    args: [String(warmupMs), String(durationMs)],
    // Bounded: two measurements plus start-up; a wedged worker is killed rather than waited on.
    budgetMs: 2 * (warmupMs + durationMs) + 60_000,
    isOutput: isWorkerOutput,
  });
}
