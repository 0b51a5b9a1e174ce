import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** CPU time counters at one instant, in clock ticks (units cancel out, so CLK_TCK is not needed). */
export interface CpuSnapshot {
  /** All CPUs: ticks spent busy (user, nice, system, irq, softirq), on steal, and in total. */
  readonly machineBusy: number;
  readonly machineSteal: number;
  readonly machineTotal: number;
  /** This process, every child it has reaped, and the live children named (utime+stime+cutime+cstime). */
  readonly own: number;
}

/** What else used the CPUs while the benchmark ran, in cores on average. */
export interface CpuInterference {
  /** Busy CPU time not spent by this process or its reaped children (other tenants, kernel threads). */
  readonly otherCores: number;
  /** Time the hypervisor gave to other guests although this one wanted it. */
  readonly stealCores: number;
}

/** utime + stime + cutime + cstime of one process, from /proc/<pid>/stat. */
function processTicks(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces, so split after the last ')'. What follows
  // starts at field 3 of stat(5), so fields 14-17 are at indexes 11-14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
}

/**
 * Takes a snapshot from /proc; undefined where /proc is not available (not Linux). `livePids` are
 * children still running (a server under load), whose time is not yet in this process's cutime.
 */
export function cpuSnapshot(livePids: readonly number[] = []): CpuSnapshot | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = ticks;
    const own = livePids.reduce((sum, pid) => sum + processTicks(pid), processTicks('self'));
    return {
      machineBusy: user + nice + system + irq + softirq,
      machineSteal: steal,
      machineTotal: user + nice + system + idle + iowait + irq + softirq + steal,
      own,
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU used by anything other than the benchmark between two snapshots. Every child that ran in
 * between must either be named in both snapshots or have exited and been reaped before the second
 * (its time is added to ours only then). The benchmark needs the whole machine, so anything here
 * lowers its figures.
 */
export function interference(before: CpuSnapshot, after: CpuSnapshot): CpuInterference {
  const total = after.machineTotal - before.machineTotal;
  if (total <= 0) return { otherCores: 0, stealCores: 0 };
  const cores = availableParallelism();
  const other = after.machineBusy - before.machineBusy - (after.own - before.own);
  return {
    otherCores: (Math.max(0, other) / total) * cores,
    stealCores: ((after.machineSteal - before.machineSteal) / total) * cores,
  };
}

/**
 * Cores that were free for the benchmark: all of them minus what others used and the hypervisor
 * stole. Floored at a quarter core so a nearly fully occupied machine does not divide by ~0 (such
 * figures are flagged as disturbed anyway).
 */
export function freeCores(measured: CpuInterference): number {
  return Math.max(0.25, availableParallelism() - measured.otherCores - measured.stealCores);
}

/**
 * CPU time one live process has used so far, in milliseconds: the sum over its threads of the
 * nanoseconds each spent on a CPU (/proc/<pid>/task/<tid>/schedstat, first field), so the figure
 * needs no clock-tick size and counts the hashing threads as well as the event loop. Undefined
 * without /proc.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    let nanoseconds = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanoseconds += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0] ?? 0);
      } catch {
        // A thread that ended between the listing and the read: its time is gone with it.
      }
    }
    return nanoseconds / 1e6;
  } catch {
    return undefined;
  }
}
