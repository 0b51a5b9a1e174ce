import {
  type CpuInterference,
  type CpuSnapshot,
  cpuSnapshot,
  freeCores,
  interference,
  processCpuMs,
} from '../lib/cpu-accounting.js';
import { type LoadResult, runLoad } from '../lib/load.js';
import { cores, type MemoryUsage, readMemory } from '../lib/processes.js';
import type { BenchCommand, BenchContext } from '../lib/registry.js';
import { machineSummary, writeRunResults } from '../lib/results.js';
import type { LatencySummary } from '../lib/stats.js';
import { fixed, formatTable } from '../lib/table.js';
import type { PreparedTarget } from './flow.js';
import { type LimitWorkerOutput, measureLimit } from './limit.js';
import { peerContract, preparePeer } from './peer-target.js';
import { benchLimitSettings, prepareRekey, rekeyContract } from './rekey-target.js';

/** Concurrent virtual users per load run; 16 saturates 2 cores several times over. */
const concurrencies = [1, 4, 16] as const;
const loadWarmupMs = 1_000;
/** Bound on finishing the cycles in flight when a window closes (a 16-user cycle takes well under 1 s). */
const drainTimeoutMs = 30_000;
const limitWarmupMs = 1_000;
const limitDurationMs = 5_000;
/** Share of the raw hashing limit Rekey must reach at saturation. */
const targetRatio = 0.9;
/** Rekey's changes/s over the peer's, at saturation, that Rekey must reach. */
const targetOverPeer = 1.1;
const saturationUsers = 16;
/** Other CPU use (cores, on average) above which a figure is flagged as disturbed. */
const interferenceWarningCores = 0.2;

/** One load run's figures, as printed and written to JSON. */
interface RunRecord {
  readonly target: string;
  readonly flow: string;
  readonly users: number;
  readonly hashesPerCycle: number;
  /** argon2id calls per cycle the server itself counted, where it can (the peer); must match. */
  readonly observedHashesPerCycle: number | undefined;
  readonly cycles: number;
  readonly windowSeconds: number;
  /** One password change per cycle, so this is also cycles/s. */
  readonly changesPerSecond: number;
  readonly hashesPerSecond: number;
  /** hashes/s over the raw argon2id hashes/s; undefined when the limit part did not run. */
  readonly ratioToLimit: number | undefined;
  /**
   * The same ratio corrected for CPU that other processes took, during the limit and during this run
   * (see {@link adjustedRatio}); undefined without the limit or without /proc.
   */
  readonly adjustedRatioToLimit: number | undefined;
  readonly latency: LatencySummary;
  /** CPU that something other than the benchmark used during the run; undefined without /proc. */
  readonly interference: CpuInterference | undefined;
  /** The server's CPU time (every thread) per completed cycle, in core-milliseconds. */
  readonly serverCoreMsPerCycle: number | undefined;
  /**
   * What the server spends per cycle on anything but argon2id: its CPU per cycle minus the
   * cycle's hashes at the limit's core-ms per hash. HTTP, SQL, JSON, tokens, logging, jobs: the
   * figure a change to the hot path is judged by. Undefined without the limit or /proc.
   */
  readonly nonHashCoreMsPerCycle: number | undefined;
}

interface MemoryRecord extends MemoryUsage {
  readonly server: string;
  readonly pid: number;
}

/**
 * hashes/s over the limit, both scaled to the CPU that was actually free: the limit's hashes per
 * free core-second times the cores free during the run. On a shared machine (other tenants in the
 * same VM, invisible to ps) the raw ratio compares two differently loaded moments; this first-order
 * correction assumes argon2id throughput is proportional to free core time, which holds for a
 * CPU-bound hash with one lane per call.
 */
function adjustedRatio(
  hashesPerSecond: number,
  limit: LimitWorkerOutput | undefined,
  runInterference: CpuInterference | undefined,
): number | undefined {
  const limitInterference = limit?.hash.interference;
  if (!limit || !limitInterference || !runInterference) return undefined;
  return (
    hashesPerSecond / ((limit.hash.perSecond / freeCores(limitInterference)) * freeCores(runInterference))
  );
}

const progress = (message: string): void => {
  process.stderr.write(`[password-change] ${message}\n`);
};

/**
 * Starts one server, drives each of its flows at every concurrency, then reads its memory and stops
 * it, adding the figures to `collected` as they come. A failure names the server and, if the server
 * died, shows why.
 */
async function measureTarget(
  label: string,
  prepare: (users: number) => Promise<PreparedTarget>,
  durationMs: number,
  collected: Collected,
): Promise<void> {
  progress(`starting ${label} and creating ${saturationUsers} users`);
  const target = await prepare(saturationUsers);
  const { limit } = collected;
  try {
    for (const flow of target.flows) {
      for (const users of concurrencies) {
        progress(`${label} ${flow.name}, ${users} user(s), ${durationMs / 1000} s`);
        let result: LoadResult<{ machine: CpuSnapshot | undefined; serverMs: number | undefined }>;
        const callsBefore = await target.argon2Calls?.();
        try {
          // Users are 1-based on the servers; the load loop counts from 0.
          result = await runLoad({
            users,
            warmupMs: loadWarmupMs,
            durationMs,
            drainTimeoutMs,
            cycle: (user, signal) => flow.cycle(user + 1, signal),
            // The server's own CPU counts as the benchmark's, not as interference.
            probe: () => ({ machine: cpuSnapshot([target.pid]), serverMs: processCpuMs(target.pid) }),
          });
        } catch (error) {
          const died = target.running()
            ? ''
            : `\n${label} server exited; its output (tail):\n${target.outputTail()}`;
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(`${label} ${flow.name} at ${users} user(s): ${message}${died}`, { cause: error });
        }
        const callsAfter = await target.argon2Calls?.();
        const observed =
          callsBefore !== undefined && callsAfter !== undefined && result.totalCycles > 0
            ? (callsAfter - callsBefore) / result.totalCycles
            : undefined;
        // The ratio to the limit rests on hashesPerCycle; if the server does more or less, say so.
        if (observed !== undefined && Math.abs(observed - flow.hashesPerCycle) > 0.001) {
          throw new Error(
            `${label} ${flow.name}: the server made ${observed.toFixed(3)} argon2id calls per cycle, but the benchmark counts ${flow.hashesPerCycle}; fix hashesPerCycle`,
          );
        }
        const hashesPerSecond = result.cyclesPerSecond * flow.hashesPerCycle;
        const { probeAtStart, probeAtEnd } = result;
        const runInterference =
          probeAtStart.machine && probeAtEnd.machine
            ? interference(probeAtStart.machine, probeAtEnd.machine)
            : undefined;
        const serverCoreMsPerCycle =
          probeAtStart.serverMs !== undefined && probeAtEnd.serverMs !== undefined && result.cycles > 0
            ? (probeAtEnd.serverMs - probeAtStart.serverMs) / result.cycles
            : undefined;
        collected.runs.push({
          target: flow.target,
          flow: flow.name,
          users,
          hashesPerCycle: flow.hashesPerCycle,
          observedHashesPerCycle: observed,
          cycles: result.cycles,
          windowSeconds: result.windowSeconds,
          changesPerSecond: result.cyclesPerSecond,
          hashesPerSecond,
          ratioToLimit: limit ? hashesPerSecond / limit.hash.perSecond : undefined,
          adjustedRatioToLimit: adjustedRatio(hashesPerSecond, limit, runInterference),
          latency: result.latency,
          interference: runInterference,
          serverCoreMsPerCycle,
          nonHashCoreMsPerCycle:
            serverCoreMsPerCycle !== undefined && limit
              ? serverCoreMsPerCycle -
                flow.hashesPerCycle * (limit.hash.measuredCoreMsPerOperation ?? limit.hash.coreMsPerOperation)
              : undefined,
        });
      }
    }
    // Read at the end of the server's last run, before it is stopped: the steady-state footprint.
    const usage = readMemory(target.pid);
    if (usage) collected.memory.push({ server: label, pid: target.pid, ...usage });
  } finally {
    await target.stop();
  }
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

function limitTable(limit: LimitWorkerOutput): string {
  const row = (name: string, figures: LimitWorkerOutput['hash']): string[] => [
    name,
    String(limit.concurrency),
    String(figures.operations),
    fixed(figures.perSecond, 1),
    fixed(figures.meanMs, 2),
    fixed(figures.coreMsPerOperation, 2),
    fixed(figures.measuredCoreMsPerOperation, 2),
    fixed(figures.interference?.otherCores, 2),
  ];
  return formatTable(
    [
      { header: 'argon2id' },
      { header: 'concurrent', align: 'right' },
      { header: 'ops', align: 'right' },
      { header: 'ops/s', align: 'right' },
      { header: 'ms/op (wall)', align: 'right' },
      { header: 'core-ms/op', align: 'right' },
      { header: 'CPU ms/op', align: 'right' },
      { header: 'other CPU', align: 'right' },
    ],
    [row('hash', limit.hash), row('verify', limit.verify)],
  );
}

/**
 * Rekey's changes/s over the peer's at the same concurrency; `adjusted` compares changes per free
 * core instead, so that other CPU use during one of the two runs does not decide the comparison.
 */
function vsPeer(run: RunRecord, runs: readonly RunRecord[], adjusted = false): number | undefined {
  if (run.target === peerContract.name) return undefined;
  const peer = runs.find((other) => other.target === peerContract.name && other.users === run.users);
  if (!peer) return undefined;
  const raw = run.changesPerSecond / peer.changesPerSecond;
  if (!adjusted) return raw;
  if (!run.interference || !peer.interference) return undefined;
  return (raw * freeCores(peer.interference)) / freeCores(run.interference);
}

function loadTable(runs: readonly RunRecord[]): string {
  return formatTable(
    [
      { header: 'server' },
      { header: 'cycle' },
      { header: 'users', align: 'right' },
      { header: 'cycles', align: 'right' },
      { header: 'changes/s', align: 'right' },
      { header: 'p50 ms', align: 'right' },
      { header: 'p99 ms', align: 'right' },
      { header: 'hashes/cycle', align: 'right' },
      { header: 'hashes/s', align: 'right' },
      { header: 'of limit', align: 'right' },
      { header: 'adjusted', align: 'right' },
      { header: 'Rekey/peer', align: 'right' },
      { header: 'adjusted', align: 'right' },
      { header: 'server core-ms/cycle', align: 'right' },
      { header: 'non-hash core-ms/cycle', align: 'right' },
      { header: 'other CPU', align: 'right' },
    ],
    runs.map((run) => [
      run.target,
      run.flow,
      String(run.users),
      String(run.cycles),
      fixed(run.changesPerSecond, 1),
      fixed(run.latency.p50Ms, 1),
      fixed(run.latency.p99Ms, 1),
      String(run.hashesPerCycle),
      fixed(run.hashesPerSecond, 1),
      fixed(run.ratioToLimit, 2),
      fixed(run.adjustedRatioToLimit, 2),
      run.target === peerContract.name ? '-' : fixed(vsPeer(run, runs), 2),
      run.target === peerContract.name ? '-' : fixed(vsPeer(run, runs, true), 2),
      fixed(run.serverCoreMsPerCycle, 1),
      fixed(run.nonHashCoreMsPerCycle, 1),
      fixed(run.interference?.otherCores, 2),
    ]),
  );
}

/** The verdict on the share-of-the-limit target for each Rekey flow at saturation. */
function verdicts(
  runs: readonly RunRecord[],
  limitRan: boolean,
): { flow: string; ratio: number; met: boolean; adjustedRatio: number | undefined }[] {
  if (!limitRan) return [];
  return runs
    .filter(
      (run) => run.target === 'rekey' && run.users === saturationUsers && run.ratioToLimit !== undefined,
    )
    .map((run) => {
      const ratio = run.ratioToLimit ?? Number.NaN;
      return { flow: run.flow, ratio, met: ratio >= targetRatio, adjustedRatio: run.adjustedRatioToLimit };
    });
}

/** Everything measured so far; a failed run still reports what it got. */
interface Collected {
  limit: LimitWorkerOutput | undefined;
  readonly runs: RunRecord[];
  readonly memory: MemoryRecord[];
  readonly notes: string[];
}

/** Runs the selected parts in order (limit, rekey, peer), filling `collected` as they finish. */
async function measure(context: BenchContext, collected: Collected): Promise<void> {
  const durationMs = context.durationSeconds * 1000;
  if (context.parts.has('limit')) {
    progress(`limit: argon2id hash and verify, ${cores} concurrent, ${limitDurationMs / 1000} s each`);
    collected.limit = await measureLimit(limitWarmupMs, limitDurationMs);
  }
  const targets: [string, (users: number) => Promise<PreparedTarget>][] = [];
  if (context.parts.has('rekey')) {
    targets.push(['rekey', prepareRekey]);
    collected.notes.push(
      `Rekey: rate limits raised to ${benchLimitSettings.REKEY_RATE_LIMIT_PER_IP} a window and the hashing bound to ${benchLimitSettings.REKEY_HASH_QUEUE_MAX} (REKEY_RATE_LIMIT_PER_IP, _PER_USER, REKEY_HASH_QUEUE_MAX): every request is still counted in the database, none is refused.`,
    );
  }
  if (context.parts.has('peer')) {
    targets.push([peerContract.name, preparePeer]);
    collected.notes.push(
      `${peerContract.name}: rate limiting disabled for the benchmark (rateLimit.enabled = false).`,
      `${peerContract.name}: its hashes/cycle (${peerContract.hashesPerCycle}) is checked on every run against the calls of its hash/verify hooks.`,
      `${peerContract.name}: argon2id via @node-rs/argon2 with the same parameters (emailAndPassword.password hooks), SQLite through better-sqlite3 (WAL, synchronous=NORMAL, as Rekey), NODE_ENV=production.`,
    );
  }
  for (const [label, prepare] of targets) {
    await measureTarget(label, prepare, durationMs, collected);
  }
}

/** Renders the tables and verdicts; `failure` marks the report as partial. */
function render(
  context: BenchContext,
  collected: Collected,
  file: string,
  failure: string | undefined,
): string {
  const { limit, runs, memory } = collected;
  const out: string[] = [];
  out.push(`password-change benchmark — ${machineSummary()}, UV_THREADPOOL_SIZE=${cores} in every child`);
  if (context.parts.has('rekey') && rekeyContract.entry !== rekeyContract.defaultEntry) {
    out.push(`Rekey server entry overridden by REKEY_BENCH_ENTRY: ${rekeyContract.entry} (not src/main.ts)`);
  }
  if (failure !== undefined) out.push('INCOMPLETE: the run failed (see the error below); figures so far:');
  out.push('');
  if (limit) {
    out.push('The limit: raw argon2id (m=19456 KiB, t=2, p=1), all cores busy', limitTable(limit));
    out.push('');
  }
  if (runs.length > 0) out.push('Password changes over HTTP (127.0.0.1)', loadTable(runs), '');
  if (memory.length > 0) {
    out.push(
      'Server memory at the end of its runs (/proc/<pid>/status)',
      formatTable(
        [
          { header: 'server' },
          { header: 'pid', align: 'right' },
          { header: 'RSS MiB', align: 'right' },
          { header: 'peak RSS MiB', align: 'right' },
        ],
        memory.map((entry) => [entry.server, String(entry.pid), mib(entry.rssKib), mib(entry.peakRssKib)]),
      ),
      '',
    );
  }
  const worst = Math.max(
    limit?.hash.interference?.otherCores ?? 0,
    limit?.verify.interference?.otherCores ?? 0,
    ...runs.map((entry) => entry.interference?.otherCores ?? 0),
  );
  const disturbed = worst > interferenceWarningCores;
  const targetLine = `Target (Rekey >= ${targetRatio} of the limit at ${saturationUsers} users)`;
  if (!context.parts.has('rekey')) out.push(`${targetLine}: not evaluated, the rekey part did not run.`);
  else if (limit === undefined) out.push(`${targetLine}: not evaluated, the limit part did not run.`);
  else {
    const verdictList = verdicts(runs, true);
    if (verdictList.length === 0)
      out.push(`${targetLine}: not evaluated, no run at ${saturationUsers} users.`);
    for (const verdict of verdictList) {
      const adjusted =
        disturbed && verdict.adjustedRatio !== undefined
          ? `; adjusted for other CPU use ${verdict.adjustedRatio.toFixed(2)} — ${verdict.adjustedRatio >= targetRatio ? 'met' : 'not met'}`
          : '';
      out.push(
        `${targetLine}, ${verdict.flow}: ${verdict.ratio.toFixed(2)} — ${verdict.met ? 'MET' : 'NOT MET'}${adjusted}`,
      );
    }
  }
  const peerLine = `Target (Rekey >= ${targetOverPeer}x ${peerContract.name} at ${saturationUsers} users, sign-in + change)`;
  const againstPeer = runs.find(
    (run) => run.target === 'rekey' && run.users === saturationUsers && run.flow === 'sign-in + change',
  );
  const overPeer = againstPeer ? vsPeer(againstPeer, runs) : undefined;
  if (overPeer === undefined) out.push(`${peerLine}: not evaluated, rekey and the peer did not both run.`);
  else {
    const adjustedOverPeer = againstPeer && disturbed ? vsPeer(againstPeer, runs, true) : undefined;
    const adjusted =
      adjustedOverPeer === undefined
        ? ''
        : `; adjusted for other CPU use ${adjustedOverPeer.toFixed(2)} — ${adjustedOverPeer >= targetOverPeer ? 'met' : 'not met'}`;
    out.push(
      `${peerLine}: ${overPeer.toFixed(2)} — ${overPeer >= targetOverPeer ? 'MET' : 'NOT MET'}${adjusted}`,
    );
  }
  if (disturbed) {
    out.push(
      `Warning: something else on this machine used up to ${worst.toFixed(2)} of ${cores} cores during a measurement ("other CPU"); raw figures and ratios of those rows are skewed by it ("adjusted" corrects to first order). Re-run on a quiet machine for clean figures.`,
    );
  }
  out.push('', ...collected.notes.map((note) => `Note: ${note}`), `Results: ${file}`);
  return out.join('\n');
}

async function run(context: BenchContext): Promise<void> {
  const collected: Collected = {
    limit: undefined,
    runs: [],
    memory: [],
    notes: [
      'hashes/cycle = argon2id operations the server performs per cycle (a verify costs one hash): sign-in 1 verify; change 1 verify + 1 hash; no-token change 1 verify + 1 hash.',
      `each load run: ${loadWarmupMs / 1000} s warm-up, then the cycles completed in a ${context.durationSeconds} s window; p50/p99 are of whole cycles.`,
      '"other CPU" = cores used on average by anything but the harness, its children and the server (from /proc/stat minus their own CPU time).',
      '"adjusted" = the ratio to its left with both sides taken per free core (cores minus other CPU and hypervisor steal).',
      'Rekey/peer = changes/s of each Rekey cycle over those of the peer sign-in + change cycle at the same users.',
      "server core-ms/cycle = CPU time of all the server's threads during the window over the cycles completed in it; non-hash = that minus hashes/cycle x one hash's CPU time as the limit worker measured it (its own threads' schedstat).",
    ],
  };
  let failure: unknown;
  try {
    await measure(context, collected);
  } catch (error) {
    failure = error;
  }
  const { file, failureMessage } = writeRunResults(
    'password-change',
    context,
    {
      settings: {
        parts: [...context.parts],
        rekeyEntry: context.parts.has('rekey') ? rekeyContract.entry : undefined,
        threadPoolSize: cores,
        argon2id: { memoryKib: 19456, iterations: 2, parallelism: 1 },
        limit: { warmupMs: limitWarmupMs, durationMs: limitDurationMs },
        load: { concurrencies, warmupMs: loadWarmupMs, durationMs: context.durationSeconds * 1000 },
        targetRatio,
        targetOverPeer,
      },
      limit: collected.limit,
      runs: collected.runs.map((entry) => ({
        ...entry,
        rekeyOverPeer: vsPeer(entry, collected.runs),
        rekeyOverPeerAdjusted: vsPeer(entry, collected.runs, true),
      })),
      memory: collected.memory,
      target: collected.limit ? verdicts(collected.runs, true) : [],
      notes: collected.notes,
    },
    failure,
  );
  process.stdout.write(`${render(context, collected, file, failureMessage)}\n`);
  if (failure !== undefined) throw failure;
}

/** `password-change`: the argon2id limit, Rekey's password-change throughput, and better-auth's. */
export const passwordChange: BenchCommand = {
  name: 'password-change',
  description: 'password changes/s and latency of Rekey vs the raw argon2id limit and better-auth',
  parts: [
    { name: 'limit', description: 'raw argon2id hashes/s and verifies/s with all cores busy' },
    { name: 'rekey', description: 'Rekey server: sign-in + change and no-token change at 1/4/16 users' },
    { name: 'peer', description: 'better-auth on SQLite: sign-in + change at 1/4/16 users' },
  ],
  run,
};
