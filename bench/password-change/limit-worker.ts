/**
 * Child process of the `limit` part: measures raw argon2id throughput with every core busy, away from
 * the harness's own event loop. Started with UV_THREADPOOL_SIZE = cores, because @node-rs/argon2's
 * async functions run on libuv's pool and its size decides how many hashes run at once.
 *
 * Usage: node --import tsx limit-worker.ts <warmupMs> <durationMs>; prints one JSON line.
 */
import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';
import { assertOwaspPhc, owaspArgon2id } from '../lib/argon2-options.js';
import { type CpuSnapshot, cpuSnapshot, interference, processCpuMs } from '../lib/cpu-accounting.js';
import type { LimitFigures, LimitWorkerOutput } from './limit.js';

const warmupMs = Number(process.argv[2]);
const durationMs = Number(process.argv[3]);
if (!(warmupMs >= 0 && durationMs > 0)) throw new Error('usage: limit-worker.ts <warmupMs> <durationMs>');
const concurrency = availableParallelism();

/**
 * Keeps `concurrency` calls of `operation` in flight until the window ends and counts those that
 * complete inside it. The warm-up runs the same loops, so the window starts with a full pool.
 */
async function measure(operation: () => Promise<unknown>): Promise<LimitFigures> {
  const windowStart = performance.now() + warmupMs;
  const windowEnd = windowStart + durationMs;
  const latencies: number[] = [];
  // Snapshots exactly at the window's edges; this worker has no children, so "own" is just itself.
  let atStart: CpuSnapshot | undefined;
  let atEnd: CpuSnapshot | undefined;
  // This process's own CPU time (every thread) at the edges: what one operation really costs,
  // whatever else the machine was doing meanwhile.
  let cpuMsAtStart: number | undefined;
  let cpuMsAtEnd: number | undefined;
  setTimeout(() => {
    atStart = cpuSnapshot();
    cpuMsAtStart = processCpuMs(process.pid);
  }, warmupMs);
  setTimeout(() => {
    atEnd = cpuSnapshot();
    cpuMsAtEnd = processCpuMs(process.pid);
  }, warmupMs + durationMs);
  const loop = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const begin = performance.now();
      await operation();
      const end = performance.now();
      if (end >= windowStart && end <= windowEnd) latencies.push(end - begin);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  // The loops end after the window, so both timers have normally fired; if not, read now.
  atStart ??= cpuSnapshot();
  atEnd ??= cpuSnapshot();
  const perSecond = latencies.length / (durationMs / 1000);
  return {
    operations: latencies.length,
    seconds: durationMs / 1000,
    perSecond,
    meanMs: latencies.reduce((sum, value) => sum + value, 0) / latencies.length,
    coreMsPerOperation: (concurrency * 1000) / perSecond,
    ...(cpuMsAtStart !== undefined && cpuMsAtEnd !== undefined && latencies.length > 0
      ? { measuredCoreMsPerOperation: (cpuMsAtEnd - cpuMsAtStart) / latencies.length }
      : {}),
    interference: atStart && atEnd ? interference(atStart, atEnd) : undefined,
  };
}

const password = 'Quartz-Limit-0-x9!';
const phc = await hash(password, owaspArgon2id);
assertOwaspPhc(phc, 'limit worker');

const hashFigures = await measure(() => hash(password, owaspArgon2id));
const verifyFigures = await measure(async () => {
  if (!(await verify(phc, password))) throw new Error('limit worker: verify of a fresh hash returned false');
});
const output: LimitWorkerOutput = {
  concurrency,
  hash: hashFigures,
  verify: verifyFigures,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
