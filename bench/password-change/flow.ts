import type { DataDirServer } from '../lib/processes.js';

/** One way of changing a password that the load loop drives against a server. */
export interface Flow {
  /** The server: `rekey` or the peer. */
  readonly target: string;
  /** What one cycle does, as shown in the table. */
  readonly name: string;
  /**
   * argon2id operations the server performs per cycle (hash and verify cost the same), counted from
   * the server's code path; this turns cycles/s into the share of the hashing limit it reaches.
   */
  readonly hashesPerCycle: number;
  /** One cycle for bench user `user` (1-based); throws on any unexpected response. */
  readonly cycle: (user: number, signal: AbortSignal) => Promise<void>;
}

/** A started server with its users created, ready for load. */
export interface PreparedTarget {
  readonly flows: readonly Flow[];
  readonly pid: number;
  /**
   * argon2id calls the server has made so far (hash + verify), where the server can tell; used to
   * check each flow's `hashesPerCycle` against reality.
   */
  argon2Calls?(): Promise<number>;
  /** Whether the server child is still up; when it is not, its output tail says why. */
  running(): boolean;
  outputTail(): string;
  /** Stops the server child (idempotent). */
  stop(): Promise<void>;
}

/**
 * Makes a started server a {@link PreparedTarget} with what `setUp` builds on it (its users, its
 * flows); when setting up fails, the server is stopped before the error is passed on.
 */
export async function prepareOnServer(
  started: DataDirServer,
  setUp: () => Promise<Pick<PreparedTarget, 'flows' | 'argon2Calls'>>,
): Promise<PreparedTarget> {
  const { server, stop } = started;
  try {
    const { flows, argon2Calls } = await setUp();
    return {
      flows,
      ...(argon2Calls ? { argon2Calls } : {}),
      pid: server.pid,
      running: server.running,
      outputTail: server.outputTail,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
