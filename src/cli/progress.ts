import type { CliIo } from './context.js';

/*
 * Progress reporting shared by long-running commands (`rekey breached import`, `rekey logs
 * export`): a bar redrawn in place on a terminal, or a plain line every ten seconds when stderr is
 * a file or a pipe (a CI log should not fill up with carriage returns).
 */

/** How often a plain (non-TTY) progress line is written. */
const plainProgressIntervalMs = 10_000;
const ttyProgressIntervalMs = 100;
const barWidth = 24;

/** Thousands separators, whatever the locale of the machine. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** `m:ss`, for time left. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}

/** `[#####...]  25.0%` for a share from 0 to 1. */
export function formatBar(share: number): string {
  const bounded = Math.min(1, Math.max(0, share));
  const filled = Math.round(bounded * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${(bounded * 100).toFixed(1).padStart(5)}%`;
}

export interface Progress<T> {
  /** Shows `value` if enough time has passed since the last line. */
  update(value: T): void;
  /** Draws the final state on a terminal and ends the line (plain output needs no last line). */
  finish(value: T): void;
  elapsedSeconds(): number;
}

/**
 * Reports progress through `render` (given the value and the milliseconds since the start): a
 * redrawn line on `tty` when there is one, otherwise a `progress: ...` line through `io.err` every
 * ten seconds.
 */
export function createProgress<T>(
  io: CliIo,
  tty: NodeJS.WritableStream | undefined,
  render: (value: T, elapsedMs: number) => string,
): Progress<T> {
  const started = Date.now();
  let lastShown = started;
  const line = (value: T) => render(value, Date.now() - started);
  return {
    update(value: T): void {
      const now = Date.now();
      const interval = tty ? ttyProgressIntervalMs : plainProgressIntervalMs;
      if (now - lastShown < interval) return;
      lastShown = now;
      // \r and "erase to end of line" redraw the bar in place.
      if (tty) tty.write(`\r${line(value)}\x1b[K`);
      else io.err(`progress: ${line(value)}`);
    },
    finish(value: T): void {
      if (tty) tty.write(`\r${line(value)}\x1b[K\n`);
    },
    elapsedSeconds: () => (Date.now() - started) / 1000,
  };
}
