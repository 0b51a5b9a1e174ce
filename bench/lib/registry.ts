/** A named part of a benchmark command, selectable with `--only`. */
export interface BenchPart {
  readonly name: string;
  readonly description: string;
}

/** What the harness hands every command it runs. */
export interface BenchContext {
  /** The parts to run: the command's own parts, narrowed by `--only` when given. */
  readonly parts: ReadonlySet<string>;
  /** Length of each measured load window, in seconds (`--duration`). */
  readonly durationSeconds: number;
  /** Start of the whole harness run; names the result files. */
  readonly startedAt: Date;
  /** Directory users the writeback bench loads and syncs (`--sync-users`); undefined: its default. */
  readonly syncUsers?: number | undefined;
  /** Sign-in rows of the logs and diagnose data set (`--sign-ins`); undefined: the environment's or 10M. */
  readonly signIns?: number | undefined;
  /** Audit rows of that data set (`--audits`); undefined: the environment's, or a tenth of the sign-ins. */
  readonly audits?: number | undefined;
  /** People (directory users) of that data set (`--users`); undefined: the command's default. */
  readonly users?: number | undefined;
  /** Page loads per measurement of the portal bench (`--repeat`); undefined: its default. */
  readonly repeat?: number | undefined;
}

/**
 * One benchmark subcommand (`npm run bench -- <name>`). To add one, write a module exporting a
 * `BenchCommand` and list it in `bench/run.ts`.
 */
export interface BenchCommand {
  readonly name: string;
  readonly description: string;
  readonly parts: readonly BenchPart[];
  run(context: BenchContext): Promise<void>;
}
