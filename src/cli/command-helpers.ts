import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { type CliIo, processIo } from './context.js';
import { formatCount } from './progress.js';

/*
 * What every `rekey` command does the same way: the --json flag and its output, repeatable flags,
 * flag values checked with a catalog code, and the terminal a command may use when it runs as the
 * process itself (tests pass their own `io`, and then get no terminal).
 */

/** The --json option, as every command words it: `.option(...jsonOption)`. */
export const jsonOption = ['--json', 'print JSON (for scripts) instead of text'] as const;

/** Prints `value` as indented JSON on stdout: the output of a command run with --json. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Commander's collector for an option that may be given more than once: `.option(f, d, collect, [])`. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/** A bad flag value (7700001), naming the flag, what it must be, and what was given. */
export function invalidFlag(option: string, value: string, requirement: string): RekeyError {
  return new RekeyError(Codes.RequestValidationFailed, {
    message: `${option} ${requirement}; got ${JSON.stringify(value)}.`,
    details: { option, value },
  });
}

/** A whole number from `min` to `max`; `_` may group digits (10_000_000). */
export function parseWholeNumber(option: string, raw: string, min: number, max: number): number {
  const digits = raw.replaceAll('_', '');
  const value = /^\d{1,12}$/.test(digits) ? Number(digits) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw invalidFlag(option, raw, `must be a whole number from ${min} to ${formatCount(max)}`);
  }
  return value;
}

/** True when `io` is the process's own stdout and stderr, so a command may use them directly. */
export function ownsProcessStreams(io: CliIo): boolean {
  return io === processIo;
}

/**
 * Where to redraw a progress bar: stderr when this process owns it and it is a terminal;
 * otherwise undefined, and progress goes through `io.err` as plain lines.
 */
export function progressTtyOf(io: CliIo): NodeJS.WritableStream | undefined {
  return ownsProcessStreams(io) && process.stderr.isTTY ? process.stderr : undefined;
}

/** True when a person can answer a prompt: this process owns stdin and stderr, both terminals. */
export function canPrompt(io: CliIo): boolean {
  return ownsProcessStreams(io) && process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Reads a keyset-paged list page by page (`pageSize` at most per read) until `top` items are
 * collected or the list ends; `more` says whether items past `top` remain.
 */
export async function collectPages<T>(
  top: number,
  pageSize: number,
  read: (
    top: number,
    skiptoken: string | undefined,
  ) => Promise<{ readonly items: readonly T[]; readonly nextToken: string | undefined }>,
): Promise<{ readonly items: T[]; readonly more: boolean }> {
  const items: T[] = [];
  let skiptoken: string | undefined;
  do {
    const page = await read(Math.min(pageSize, top - items.length), skiptoken);
    items.push(...page.items);
    skiptoken = page.nextToken;
  } while (skiptoken !== undefined && items.length < top);
  return { items, more: skiptoken !== undefined };
}
