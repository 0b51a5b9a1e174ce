import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './registry.js';

/** bench/results/, next to this folder; git-ignored, so runs never dirty the tree. */
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

/**
 * Writes `data` as pretty JSON to `bench/results/<name>-<timestamp>.json` and returns the path.
 * The timestamp is ISO 8601 with `:` and `.` replaced, so the name is valid on every file system
 * and runs sort by time.
 */
export function writeResults(name: string, startedAt: Date, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

/** The machine a run measured on, as every result file records it. */
export interface MachineDescription {
  readonly cores: number;
  /** The first CPU's model name; undefined (left out of the JSON) where the OS does not say. */
  readonly cpu: string | undefined;
  readonly node: string;
  readonly platform: NodeJS.Platform;
}

/** Describes this machine for a result file. */
export function describeMachine(): MachineDescription {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model,
    node: process.version,
    platform: process.platform,
  };
}

/** "4 cores (CPU model), Node v20.x": the machine in a report's first line. */
export function machineSummary(): string {
  const machine = describeMachine();
  return `${machine.cores} cores (${machine.cpu ?? 'unknown CPU'}), Node ${machine.node}`;
}

/** What {@link writeRunResults} wrote: the file, and the failure as text (undefined when the run completed). */
export interface WrittenRun {
  readonly file: string;
  readonly failureMessage: string | undefined;
}

/**
 * Writes one command's result file: the fields every command records (command, completeness, the
 * error, start and finish, the machine), then the command's own `payload`. `failure` is what the run
 * threw, or undefined; a failed run still writes what it measured, so a partial result is kept.
 */
export function writeRunResults(
  name: string,
  context: BenchContext,
  payload: Readonly<Record<string, unknown>>,
  failure: unknown,
): WrittenRun {
  const failureMessage =
    failure === undefined ? undefined : failure instanceof Error ? failure.message : String(failure);
  const file = writeResults(name, context.startedAt, {
    command: name,
    complete: failure === undefined,
    error: failureMessage,
    startedAt: context.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: describeMachine(),
    ...payload,
  });
  return { file, failureMessage };
}
