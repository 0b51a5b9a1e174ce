import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../platform/clock.js';
import type { SecretBox } from '../platform/crypto/secret-box.js';
import type { Db } from '../platform/db/database.js';
import type { Database, OperationKind, OperationState, PasswordOperationRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import { findUsersForLog } from '../users/user-service.js';
import {
  claimOperation,
  findOperation,
  findOperationByIdempotencyKey,
  insertOperation,
  listDueOperationIds,
  listOperationEvents,
  listOperations,
  listUnfinishedOperationIds,
  type OperationCursor,
  type OperationEvent,
  type OperationFilter,
  renewLease,
  transitionOperation,
} from './operation-store.js';

export type { OperationCursor, OperationFilter } from './operation-store.js';

/** One entry of an operation's history as stored. */
export type OperationEventRow = Awaited<ReturnType<typeof listOperationEvents>>[number];

/**
 * An operation as listed and shown: its row, and its user's principal name. Purging a user
 * deletes their operations, so the name is null only when that happens between the two reads.
 */
export type ListedOperationRow = PasswordOperationRow & { readonly user_principal_name: string | null };

/** The engine's timings: settings, not constants (`REKEY_OPERATION_*`). */
export interface OperationSettings {
  /** How long one attempt holds an operation before another worker may take it over. */
  readonly leaseSeconds: number;
  /** How long after it was accepted an operation may keep retrying; then it is terminated. */
  readonly deadlineSeconds: number;
  /** The first retry waits between half and all of twice this; each further one doubles. */
  readonly backoffBaseSeconds: number;
  /** No retry waits longer than this. */
  readonly backoffMaxSeconds: number;
  /**
   * How long a caller who waits for an operation (`runNow`) waits before being answered with the
   * operation still going (10 s unless given).
   */
  readonly changeWaitSeconds?: number;
}

export const defaultOperationSettings: OperationSettings = {
  leaseSeconds: 30,
  deadlineSeconds: 5 * 60,
  backoffBaseSeconds: 1,
  backoffMaxSeconds: 300,
  changeWaitSeconds: 10,
};

/** What `runNow` does beside running the operation. */
export interface RunNowOptions {
  /**
   * Runs first in the transaction that records the operation; throwing refuses the request: its
   * error reaches the caller as it is and nothing is recorded (a conflict check, say).
   */
  readonly guard?: ((trx: Kysely<Database>) => Promise<void>) | undefined;
  /** Joins the transaction that records the operation (success or failure alike). */
  readonly alsoCommit?: ((trx: Kysely<Database>) => Promise<void>) | undefined;
  /**
   * Whether this operation needs its job's external steps. By default, whenever the job has one;
   * a job whose external step applies to some users only (the directory write of a synced user)
   * passes false for the others, which then run in one transaction, skipping the external steps.
   */
  readonly external?: boolean | undefined;
  /** Seconds to wait for the end before returning the operation still going (the setting unless given). */
  readonly waitSeconds?: number | undefined;
  /**
   * The attempt `begin` started for this operation while the caller finished its checks, for an
   * operation without external steps (`external: false`); begun here when absent.
   */
  readonly begun?: Promise<JobAttempt> | undefined;
}

/** True once an operation has ended, one way or the other. */
export function hasEnded(row: Pick<PasswordOperationRow, 'state'>): boolean {
  return row.state === 'succeeded' || row.state === 'terminated';
}

/** An operation a worker claimed: the row as claimed and the name its lease is held under. */
export interface ClaimedOperation {
  readonly row: PasswordOperationRow;
  readonly attemptOwner: string;
}

/**
 * The first commit of an operation a request runs itself (recordWithLeadingSteps): recorded past
 * its leading database steps, with the attempt begun; or failed in them, with nothing recorded.
 */
type LeadingStepsOutcome =
  | { readonly row: PasswordOperationRow; readonly attempt: JobAttempt; readonly failure?: undefined }
  | {
      readonly failure: { readonly step: string; readonly error: RekeyError };
      readonly row?: undefined;
      readonly attempt?: undefined;
    };

/** What the caller of an attempt already knows or holds, so the attempt need not find it again. */
interface AttemptKnowledge {
  /** Whether the operation needs its job's external steps. */
  readonly external?: boolean | undefined;
  /** The attempt, already begun (its slow preparation, such as hashing, done). */
  readonly attempt?: JobAttempt | undefined;
}

/**
 * Where the work that runs an attempt came from, for the audit rows it writes: the request that
 * ran it inline (and who made it), or the background worker.
 */
export interface Origin {
  readonly ipAddress: string;
  readonly userAgent: string | undefined;
  /** Who asked, when the request that runs the attempt knows; otherwise read from the operation. */
  readonly actor?: Actor | undefined;
}

export const workerOrigin: Origin = { ipAddress: '127.0.0.1', userAgent: undefined };

/** The origin of an attempt run by the request in `context`. */
export function originOf(context: RequestContext): Origin {
  return { ipAddress: context.ipAddress, userAgent: context.userAgent, actor: context.actor };
}

/**
 * One named step of a job. A `database` step only changes Rekey's own tables: consecutive ones run
 * in one transaction together with the operation's move to the next step (or to `succeeded`), so
 * their effects and the record of having done them commit together or not at all. An `external`
 * step talks to something outside the database (a directory): it runs outside any transaction
 * and must be safe to repeat, because a worker can die after it acted and before its checkpoint.
 */
export interface OperationStep<Work> {
  readonly name: string;
  readonly touches: 'database' | 'external';
  /** `at` is the time the step is recorded at: every database step of one commit shares it. */
  run(work: Work, db: Kysely<Database>, at: string): Promise<void>;
}

/** What the engine knows of an attempt as it starts. */
export interface AttemptStart {
  readonly origin: Origin;
  /** The secret the operation carries (a new password), opened; undefined when it has none. */
  readonly secret: string | undefined;
}

/** What a kind of operation does: its steps, and what it records when it ends. */
export interface OperationJob<Work> {
  /**
   * Prepares an attempt outside any transaction (slow work such as hashing goes here, never
   * inside a transaction). Throwing fails the attempt like a failing step.
   */
  begin(operation: PasswordOperationRow, start: AttemptStart): Promise<Work>;
  readonly steps: ReadonlyArray<OperationStep<Work>>;
  /**
   * Whether this operation needs the job's external steps (read before an accepted operation
   * runs); false runs its database steps as one commit, as `runNow` does with `external: false`.
   * Every step when absent.
   */
  needsExternal?(operation: PasswordOperationRow, db: Kysely<Database>): Promise<boolean>;
  /** Runs in the transaction that marks the operation succeeded (its audit row, say). */
  succeeded(trx: Kysely<Database>, work: Work, at: string): Promise<void>;
  /** Runs in the transaction that terminates the operation. */
  terminated(
    trx: Kysely<Database>,
    operation: PasswordOperationRow,
    cause: { readonly code: number; readonly detail: string | null },
    origin: Origin,
    at: string,
  ): Promise<void>;
}

/** A job with its work type hidden, so jobs of different kinds fit one map. */
export interface RunnableJob {
  readonly steps: ReadonlyArray<Pick<OperationStep<unknown>, 'name' | 'touches'>>;
  begin(operation: PasswordOperationRow, start: AttemptStart): Promise<JobAttempt>;
  terminated: OperationJob<unknown>['terminated'];
  needsExternal?: OperationJob<unknown>['needsExternal'];
}

export interface JobAttempt {
  run(step: string, db: Kysely<Database>, at: string): Promise<void>;
  succeeded(trx: Kysely<Database>, at: string): Promise<void>;
}

/** Hides a job's work type behind closures, for the engine's map of jobs. */
export function defineJob<Work>(job: OperationJob<Work>): RunnableJob {
  const byName = new Map(job.steps.map((step) => [step.name, step]));
  return {
    steps: job.steps.map(({ name, touches }) => ({ name, touches })),
    async begin(operation, start) {
      const work = await job.begin(operation, start);
      return {
        run: async (name, db, at) => {
          const step = byName.get(name);
          if (!step) throw new Error(`unknown step ${name}`);
          await step.run(work, db, at);
        },
        succeeded: (trx, at) => job.succeeded(trx, work, at),
      };
    },
    terminated: (trx, operation, cause, origin, at) => job.terminated(trx, operation, cause, origin, at),
    ...(job.needsExternal ? { needsExternal: job.needsExternal.bind(job) } : {}),
  };
}

/**
 * A test-only hook called at every fault point, `before:<step>` and `after:<step>`: a test throws
 * from it, or kills the process, to prove that a worker dying there loses nothing and repeats
 * nothing. Normal runs pass none.
 */
export type FaultHook = (point: string, operation: PasswordOperationRow) => void | Promise<void>;

export interface OperationEngineDeps {
  readonly db: Db;
  readonly tenantId: string;
  readonly clock: Clock;
  /** Draws the backoff jitter; tests pass a fixed one. */
  readonly random: () => number;
  readonly secretBox: SecretBox;
  readonly logger: Logger;
  readonly settings: OperationSettings;
  /** What each kind of operation does. */
  readonly jobs: Readonly<Record<OperationKind, RunnableJob>>;
  readonly faults?: FaultHook | undefined;
  /** Called after an operation is accepted for background work (the in-process worker's nudge). */
  readonly onAccepted?: ((operationId: string) => void) | undefined;
  /**
   * Told each time an operation reaches succeeded, retryScheduled or terminated here (with its
   * code when it failed), after the move committed: the metrics' counter.
   */
  readonly onMoved?: ((state: OperationState, code: number | null) => void) | undefined;
}

/** An operation as a caller hands it to the engine, before any attempt. */
export type NewOperation = Omit<
  PasswordOperationRow,
  | 'state'
  | 'step'
  | 'attempts'
  | 'next_attempt_at'
  | 'deadline_at'
  | 'lease_owner'
  | 'lease_expires_at'
  | 'error_code'
  | 'error_retryable'
  | 'error_detail'
  | 'secret_ciphertext'
  | 'updated_at'
  | 'completed_at'
>;

/** The lease an attempt holds, renewed in the background while it works. */
interface Lease {
  stop(): void;
  /** True once a renewal found the lease taken over: the attempt must not act any more. */
  isLost(): boolean;
}

export type OperationEngine = ReturnType<typeof createOperationEngine>;

/**
 * The job engine: durable operations run through their steps by whoever holds the lease, retried
 * with backoff until a deadline, ending `succeeded` or `terminated` exactly once. It knows nothing
 * of passwords; what an operation does comes from its job (`src/passwords/password-operation.ts`).
 */
export function createOperationEngine(deps: OperationEngineDeps) {
  const { db, tenantId, clock, logger, settings, jobs } = deps;
  const owner = `worker-${randomUUID()}`;

  const seconds = (at: Date, s: number) => new Date(at.getTime() + s * 1000).toISOString();

  function rowOf(operation: NewOperation, secret: string | undefined): PasswordOperationRow {
    const created = new Date(operation.created_at);
    return {
      ...operation,
      state: 'notStarted',
      step: 'accepted',
      attempts: 0,
      next_attempt_at: operation.created_at,
      deadline_at: seconds(created, settings.deadlineSeconds),
      lease_owner: null,
      lease_expires_at: null,
      error_code: null,
      error_retryable: null,
      error_detail: null,
      secret_ciphertext: secret === undefined ? null : deps.secretBox.seal(secret),
      updated_at: operation.created_at,
      completed_at: null,
    };
  }

  async function fault(point: string, operation: PasswordOperationRow): Promise<void> {
    if (deps.faults) await deps.faults(point, operation);
  }

  function toRekeyError(error: unknown, operationId: string): RekeyError {
    if (error instanceof RekeyError) return error;
    logger.error({ err: error, operationId }, 'password operation step failed');
    return new RekeyError(Codes.PasswordChangeFailure, { cause: error });
  }

  /** Keeps the lease alive while an attempt works, and says when it was lost. */
  function holdLease(operationId: string, attemptOwner: string): Lease {
    let lost = false;
    const timer = setInterval(
      () => {
        const now = clock.now();
        renewLease(
          db.kysely,
          operationId,
          attemptOwner,
          now.toISOString(),
          seconds(now, settings.leaseSeconds),
        )
          .then((held) => {
            if (!held) lost = true;
          })
          .catch((error: unknown) => logger.warn({ err: error, operationId }, 'could not renew a lease'));
      },
      (settings.leaseSeconds * 1000) / 3,
    );
    timer.unref();
    return { stop: () => clearInterval(timer), isLost: () => lost };
  }

  /**
   * Records a failed attempt: a retry after a backoff while the failure is retryable and the
   * deadline has not passed, otherwise the end, together with the job's record of it.
   */
  async function fail(
    operation: PasswordOperationRow,
    attemptOwner: string,
    step: string,
    error: RekeyError,
    origin: Origin,
    /** History entries of moves the failed commit would have made before `step` (see runSteps). */
    passed: readonly OperationEvent[] = [],
  ): Promise<void> {
    const at = clock.now();
    const retry = error.entry.retryable && at < new Date(operation.deadline_at);
    // Exponential backoff with jitter: between half and all of base * 2^attempt, at most the
    // maximum. Half is kept so a retry never comes at once (full jitter can draw zero).
    const base = Math.min(settings.backoffMaxSeconds, settings.backoffBaseSeconds * 2 ** operation.attempts);
    const delay = base / 2 + deps.random() * (base / 2);
    const change = {
      state: retry ? ('retryScheduled' as const) : ('terminated' as const),
      step,
      at: at.toISOString(),
      nextAttemptAt: seconds(at, delay),
      error: { code: error.code, retryable: error.entry.retryable, detail: error.message },
    };
    if (retry) {
      if (await transitionOperation(db.kysely, operation.id, attemptOwner, change, passed))
        deps.onMoved?.('retryScheduled', error.code);
      return;
    }
    // The end and the job's record of it commit together: a lost lease writes neither.
    const ended = await db.kysely.transaction().execute(async (trx) => {
      if (!(await transitionOperation(trx, operation.id, attemptOwner, change, passed))) return false;
      await jobs[operation.kind].terminated(trx, operation, change.error, origin, change.at);
      return true;
    });
    if (ended) deps.onMoved?.('terminated', error.code);
  }

  /**
   * Runs the steps of a claimed operation from the one it reached, checkpointing as it goes.
   * Returns false when the lease was lost on the way (another attempt finishes the operation),
   * true otherwise; `ended` is then the row as this attempt's success left it, when it succeeded.
   * `external` is whether the operation needs its job's external steps, when the caller knows.
   */
  async function runSteps(
    operation: PasswordOperationRow,
    attemptOwner: string,
    origin: Origin,
    lease: Lease,
    known: AttemptKnowledge = {},
  ): Promise<{ readonly held: boolean; readonly ended?: PasswordOperationRow }> {
    const job = jobs[operation.kind];
    let step = operation.step;
    // The checkpoint after an external step, while the commit it belongs to is under way.
    let checkpoint: OperationEvent | undefined;
    try {
      if (new Date(operation.deadline_at) < clock.now()) {
        // Keep what the last attempt failed with: that, not the clock, is what an admin must fix.
        const last =
          operation.error_code === null
            ? ''
            : ` after AADSTS${operation.error_code}: ${operation.error_detail ?? ''}`;
        throw new RekeyError(Codes.PasswordChangeFailure, {
          message: `The operation passed its deadline${last}.`,
        });
      }
      let secret: string | undefined;
      if (operation.secret_ciphertext !== null) secret = deps.secretBox.open(operation.secret_ciphertext);
      const work = known.attempt ?? (await job.begin(operation, { origin, secret }));
      // An operation whose external steps do not apply (a cloud user's, with a directory writer
      // installed) runs as one commit, as it would without them.
      const external = known.external ?? (await job.needsExternal?.(operation, db.kysely)) ?? true;
      const steps = external ? job.steps : job.steps.filter((s) => s.touches === 'database');
      let index = Math.max(
        0,
        steps.findIndex((s) => s.name === operation.step),
      );
      while (index < steps.length) {
        const current = steps[index];
        if (!current) break;
        step = current.name;
        // The database steps this commit runs: those from here, or those right after an external step.
        const first = current.touches === 'external' ? index + 1 : index;
        if (current.touches === 'external') {
          if (lease.isLost()) return { held: false };
          await fault(`before:${current.name}`, operation);
          await work.run(current.name, db.kysely, clock.now().toISOString());
          await fault(`after:${current.name}`, operation);
        }
        let end = first;
        while (steps[end]?.touches === 'database') end += 1;
        const inner = steps.slice(first, end);
        const next = steps[end];
        const at = clock.now().toISOString();
        const moved = await db.kysely.transaction().execute(async (trx) => {
          const change = next
            ? { state: 'running' as const, step: next.name, at }
            : { state: 'succeeded' as const, step: 'completed', at, error: null };
          // An external step's checkpoint commits with the database steps after it: the history
          // still shows the move to the first of them, and a worker that dies before this commit
          // leaves the external step to run again (it is safe to repeat: it finds its work done).
          checkpoint =
            current.touches === 'external' && inner[0]
              ? { at, state: 'running', step: inner[0].name, detail: null }
              : undefined;
          if (
            !(await transitionOperation(
              trx,
              operation.id,
              attemptOwner,
              change,
              checkpoint ? [checkpoint] : [],
            ))
          )
            return false;
          // From here a failure rolls back the whole commit: the retry resumes at its first step
          // (an external step before it is done), whichever of its steps failed.
          if (inner[0]) step = inner[0].name;
          for (const databaseStep of inner) {
            await fault(`before:${databaseStep.name}`, operation);
            await work.run(databaseStep.name, trx, at);
            await fault(`after:${databaseStep.name}`, operation);
          }
          if (!next) await work.succeeded(trx, at);
          return true;
        });
        checkpoint = undefined;
        if (!moved) {
          logger.warn(
            { operationId: operation.id },
            'lost the lease on an operation; another worker finishes it',
          );
          return { held: false };
        }
        if (!next) {
          deps.onMoved?.('succeeded', null);
          return { held: true, ended: succeededRow(operation, at) };
        }
        index = end;
      }
    } catch (error) {
      // The commit after an external step failed: the failure is recorded at the commit's first
      // step, so the retry resumes there (the external step is done), with the checkpoint kept.
      const passed = checkpoint && step === checkpoint.step ? [checkpoint] : [];
      await fail(operation, attemptOwner, step, toRekeyError(error, operation.id), origin, passed);
    }
    return { held: true };
  }

  /**
   * Accepts an operation for background work in the caller's transaction (the outbox): once the
   * caller commits, the operation is never lost. Call `accepted` after the commit to wake a worker.
   */
  async function accept(
    trx: Kysely<Database>,
    operation: NewOperation,
    secret: string | undefined,
  ): Promise<PasswordOperationRow> {
    const row = rowOf(operation, secret);
    await insertOperation(trx, row);
    return row;
  }

  /** Tells the in-process worker that an operation is waiting. */
  function accepted(operationId: string): void {
    deps.onAccepted?.(operationId);
  }

  /** A fresh name for one attempt's lease. */
  function newAttemptOwner(): string {
    // Each attempt holds the lease under its own name: an attempt whose lease lapsed and was taken
    // over, even by this same process, can then never move the operation after its successor.
    return `${owner}:${randomUUID().slice(0, 8)}`;
  }

  /** Runs one claimed attempt to its end (or to a lost lease), renewing the lease meanwhile. */
  async function runClaimed(claimed: ClaimedOperation, origin: Origin = workerOrigin): Promise<void> {
    await attemptClaimed(claimed, origin);
  }

  /**
   * Runs one claimed attempt as runClaimed does, and returns the operation as it then is: the row
   * this attempt's success left, or else the row read back.
   */
  async function attemptClaimed(
    claimed: ClaimedOperation,
    origin: Origin,
    known: AttemptKnowledge = {},
  ): Promise<PasswordOperationRow | undefined> {
    const lease = holdLease(claimed.row.id, claimed.attemptOwner);
    let ended: PasswordOperationRow | undefined;
    try {
      ({ ended } = await runSteps(claimed.row, claimed.attemptOwner, origin, lease, known));
    } finally {
      lease.stop();
    }
    return ended ?? findOperation(db.kysely, tenantId, claimed.row.id);
  }

  /**
   * Runs one attempt of an operation, if its lease can be taken; returns the operation as it is
   * then. Every step is safe to repeat and database steps commit with their checkpoint, so a
   * worker that dies at any point leaves the operation to be finished exactly once.
   */
  async function runOperation(
    operationId: string,
    origin: Origin = workerOrigin,
  ): Promise<PasswordOperationRow | undefined> {
    const now = clock.now();
    const attemptOwner = newAttemptOwner();
    const claimed = await db.kysely
      .transaction()
      .execute((trx) =>
        claimOperation(
          trx,
          operationId,
          attemptOwner,
          now.toISOString(),
          seconds(now, settings.leaseSeconds),
        ),
      );
    if (claimed) return attemptClaimed({ row: claimed, attemptOwner }, origin);
    return findOperation(db.kysely, tenantId, operationId);
  }

  /**
   * Takes the lease on up to `limit` due operations at once, for a worker to run side by side.
   * On PostgreSQL the due rows are locked `FOR UPDATE SKIP LOCKED`, so workers claiming together
   * split the queue between them; each claim is still a conditional UPDATE, so no operation is
   * ever claimed twice on either database.
   */
  async function claimDueOperations(limit: number): Promise<ClaimedOperation[]> {
    if (limit <= 0) return [];
    const now = clock.now();
    const at = now.toISOString();
    const leaseUntil = seconds(now, settings.leaseSeconds);
    return db.kysely.transaction().execute(async (trx) => {
      const ids = await listDueOperationIds(trx, at, limit, { lock: true });
      const claimed: ClaimedOperation[] = [];
      for (const id of ids) {
        const attemptOwner = newAttemptOwner();
        const row = await claimOperation(trx, id, attemptOwner, at, leaseUntil);
        if (row) claimed.push({ row, attemptOwner });
      }
      return claimed;
    });
  }

  /**
   * The first commit of an operation a request runs itself, when its job starts with database
   * steps before an external one (a written-back change: `validate`, then the directory write):
   * the operation's record, the caller's rows and those steps commit as one transaction, with the
   * operation checkpointed at the external step, as the commit after `validate` would have left it.
   * The attempt is begun (the new password hashed) before the transaction, and handed on.
   *
   * Undefined, with nothing written, when the job has no such steps. When beginning or a step
   * failed, nothing is written either and the failure comes back with its step: the caller records
   * the operation at its first step and that failure as its first attempt's. A guard's refusal
   * refuses the request.
   */
  async function recordWithLeadingSteps(
    claimed: PasswordOperationRow,
    secret: string | undefined,
    origin: Origin,
    options: RunNowOptions,
  ): Promise<LeadingStepsOutcome | undefined> {
    const job = jobs[claimed.kind];
    const firstExternal = job.steps.findIndex((step) => step.touches === 'external');
    const leading = job.steps.slice(0, Math.max(0, firstExternal));
    const external = job.steps[firstExternal];
    if (leading.length === 0 || !external) return undefined;
    let step = claimed.step;
    const failed = (error: unknown): LeadingStepsOutcome => ({
      failure: { step, error: toRekeyError(error, claimed.id) },
    });
    let attempt: JobAttempt;
    try {
      attempt = await job.begin(claimed, { origin, secret });
    } catch (error) {
      return failed(error);
    }
    const at = clock.now().toISOString();
    const row: PasswordOperationRow = { ...claimed, step: external.name, updated_at: at };
    try {
      await db.kysely.transaction().execute(async (trx) => {
        try {
          await options.guard?.(trx);
        } catch (error) {
          throw new Refusal(error);
        }
        await insertOperation(trx, row, [
          { at: claimed.created_at, state: 'notStarted', step: claimed.step, detail: null },
          { at: claimed.created_at, state: 'running', step: claimed.step, detail: 'attempt 1' },
          { at, state: 'running', step: external.name, detail: null },
        ]);
        await options.alsoCommit?.(trx);
        for (const current of leading) {
          step = current.name;
          await fault(`before:${current.name}`, row);
          await attempt.run(current.name, trx, at);
          await fault(`after:${current.name}`, row);
        }
      });
    } catch (error) {
      if (error instanceof Refusal) throw error.reason;
      return failed(error);
    }
    return { row, attempt };
  }

  /**
   * Runs a new operation for a caller who waits for the outcome, and returns it as it is when
   * the caller stops waiting: ended, or still going after `waitSeconds`.
   *
   * When the operation needs no external step (every cloud-only change today), the whole
   * operation (its row, history, effects and audit) is one transaction: nothing to lose, nothing
   * to repeat, and the secret is never stored. Otherwise it is accepted (the outbox, the secret
   * sealed) and attempted here at once; a retryable failure is retried, by this request while it
   * waits or by any worker, until it ends or the deadline passes. If the wait runs out first the
   * operation goes on, and the caller is given it still running (to answer 503 with its location).
   */
  async function runNow(
    operation: NewOperation,
    secret: string | undefined,
    origin: Origin,
    options: RunNowOptions = {},
  ): Promise<PasswordOperationRow> {
    const job = jobs[operation.kind];
    const external = options.external ?? job.steps.some((step) => step.touches === 'external');
    if (external) {
      // Accepted and claimed by this request in the one transaction that records it: the request
      // holds the lease from the start, so no worker races it for the first attempt (none is
      // nudged), and a request that dies leaves the lease to lapse for a worker to take over.
      const now = clock.now();
      const attemptOwner = newAttemptOwner();
      const acceptedRow = rowOf(operation, secret);
      const claimed: PasswordOperationRow = {
        ...acceptedRow,
        state: 'running',
        attempts: 1,
        lease_owner: attemptOwner,
        lease_expires_at: seconds(now, settings.leaseSeconds),
      };
      const waitSeconds = options.waitSeconds ?? settings.changeWaitSeconds ?? 10;
      const ahead = await recordWithLeadingSteps(claimed, secret, origin, options);
      if (ahead?.attempt)
        return waitFor(claimed.id, origin, waitSeconds, { row: ahead.row, attemptOwner }, ahead.attempt);
      await db.kysely.transaction().execute(async (trx) => {
        await options.guard?.(trx);
        await insertOperation(trx, claimed, [
          { at: acceptedRow.created_at, state: 'notStarted', step: acceptedRow.step, detail: null },
          { at: acceptedRow.created_at, state: 'running', step: acceptedRow.step, detail: 'attempt 1' },
        ]);
        await options.alsoCommit?.(trx);
      });
      if (ahead?.failure) {
        // The first attempt failed in its leading steps: recorded as that attempt's failure (a
        // retry or the end), as a worker's attempt would have recorded it.
        await fail(claimed, attemptOwner, ahead.failure.step, ahead.failure.error, origin);
        return waitFor(claimed.id, origin, waitSeconds);
      }
      return waitFor(claimed.id, origin, waitSeconds, { row: claimed, attemptOwner });
    }
    const steps = job.steps.filter((step) => step.touches === 'database');
    const row = rowOf(operation, undefined);
    let step = steps[0]?.name ?? 'completed';
    try {
      const work = await (options.begun ?? job.begin(row, { origin, secret }));
      const succeeded = await db.kysely.transaction().execute(async (trx) => {
        try {
          await options.guard?.(trx);
        } catch (error) {
          throw new Refusal(error);
        }
        // What the caller records with the operation comes first, as it did when it was accepted.
        await options.alsoCommit?.(trx);
        const at = clock.now().toISOString();
        const done: PasswordOperationRow = {
          ...row,
          state: 'succeeded',
          step: 'completed',
          attempts: 1,
          updated_at: at,
          completed_at: at,
        };
        await insertOperation(trx, done, [
          { at: row.created_at, state: 'notStarted', step: row.step, detail: null },
          { at, state: 'running', step, detail: 'attempt 1' },
          { at, state: 'succeeded', step: 'completed', detail: null },
        ]);
        for (const current of steps) {
          step = current.name;
          await fault(`before:${current.name}`, done);
          await work.run(current.name, trx, at);
          await fault(`after:${current.name}`, done);
        }
        await work.succeeded(trx, at);
        return done;
      });
      deps.onMoved?.('succeeded', null);
      return succeeded;
    } catch (error) {
      if (error instanceof Refusal) throw error.reason;
      const cause = toRekeyError(error, row.id);
      const at = clock.now().toISOString();
      const ended: PasswordOperationRow = {
        ...row,
        state: 'terminated',
        step,
        attempts: 1,
        lease_owner: null,
        error_code: cause.code,
        error_retryable: cause.entry.retryable ? 1 : 0,
        error_detail: cause.message,
        updated_at: at,
        completed_at: at,
      };
      const failure = { code: cause.code, retryable: cause.entry.retryable };
      const events: OperationEvent[] = [
        { at: row.created_at, state: 'notStarted', step: row.step, detail: null },
        { at, state: 'running', step, detail: 'attempt 1' },
        { at, state: 'terminated', step, detail: cause.message, error: failure },
      ];
      await db.kysely.transaction().execute(async (trx) => {
        await insertOperation(trx, ended, events);
        await options.alsoCommit?.(trx);
        await job.terminated(trx, ended, { code: cause.code, detail: cause.message }, origin, at);
      });
      deps.onMoved?.('terminated', cause.code);
      return ended;
    }
  }

  /**
   * Begins the job of an operation that `runNow` will run without external steps (for a password,
   * hashing the new one), so that the caller's last checks run while it works: pass the result as
   * `begun`. An operation the caller then refuses is never recorded; its attempt is dropped.
   */
  function begin(operation: NewOperation, secret: string | undefined, origin: Origin): Promise<JobAttempt> {
    const begun = jobs[operation.kind].begin(rowOf(operation, undefined), { origin, secret });
    // Awaited by runNow; a caller that refuses the operation first never awaits it.
    begun.catch(() => undefined);
    return begun;
  }

  /**
   * Waits up to `waitSeconds` (wall time) for an accepted operation to end, attempting it here
   * whenever it is due and nobody holds it, and returns it as it is then. An attempt still running
   * when the wait runs out goes on in the background (its lease is renewed as usual).
   */
  async function waitFor(
    operationId: string,
    origin: Origin,
    waitSeconds: number,
    /** The first attempt's claim, when the caller took it with the operation (an external one). */
    claimed?: ClaimedOperation,
    /** That attempt, when the caller already began it. */
    begun?: JobAttempt,
  ): Promise<PasswordOperationRow> {
    // Wall time, not the injected clock: this bounds a real wait, and tests may freeze the clock.
    const giveUpAt = Date.now() + waitSeconds * 1000;
    const timeLeft = () => Math.max(0, giveUpAt - Date.now());
    let row: PasswordOperationRow | undefined;
    let first = claimed;
    for (;;) {
      const attempt = first
        ? attemptClaimed(first, origin, { external: true, attempt: begun })
        : runOperation(operationId, origin);
      first = undefined;
      row = await untilTimeout(attempt, timeLeft());
      if (row === undefined) {
        // The attempt outlived the wait: it goes on; the caller gets the operation as it stands.
        attempt.catch((error: unknown) =>
          logger.error({ err: error, operationId }, 'operation attempt failed'),
        );
        row = await findOperation(db.kysely, tenantId, operationId);
      }
      if (!row || hasEnded(row) || timeLeft() === 0) break;
      const dueIn =
        row.state === 'retryScheduled' ? Date.parse(row.next_attempt_at) - clock.now().getTime() : 100;
      await sleep(Math.min(timeLeft(), Math.max(20, Math.min(dueIn, 1000))));
    }
    if (!row)
      throw new RekeyError(Codes.PasswordChangeFailure, {
        message: 'The operation disappeared while it ran.',
      });
    return row;
  }

  /** Claims every operation that is due now (up to `limit`) and runs them side by side; returns how many. */
  async function runDueOperations(limit = 20): Promise<number> {
    const claimed = await claimDueOperations(limit);
    await Promise.all(claimed.map((c) => runClaimed(c)));
    return claimed.length;
  }

  /** An operation of this tenant, or undefined. */
  function getOperation(operationId: string): Promise<PasswordOperationRow | undefined> {
    return findOperation(db.kysely, tenantId, operationId);
  }

  /**
   * The fingerprint of a request sent with an idempotency key, stored with its operation
   * (`idempotency_fingerprint`) to compare a repeat with. `request` is what the caller asked for,
   * as plain JSON; it may hold a password, so only a keyed hash of it is kept.
   */
  function fingerprintRequest(request: unknown): string {
    return deps.secretBox.fingerprint('idempotency-request', JSON.stringify(request));
  }

  /**
   * The operation that a user's earlier request with this idempotency key was accepted as, or
   * undefined: a request sent again with the same key gets that operation rather than a second one.
   * The same key with a different request (another fingerprint) is refused with 7700014: answering
   * it with the first operation would silently drop what the new request asked for.
   */
  async function findByIdempotencyKey(
    userId: string,
    key: string,
    fingerprint: string,
  ): Promise<PasswordOperationRow | undefined> {
    const row = await findOperationByIdempotencyKey(db.kysely, userId, key);
    // A row accepted before fingerprints were kept has none: matched on the key alone, as then.
    if (
      row &&
      row.idempotency_fingerprint !== null &&
      !sameFingerprint(row.idempotency_fingerprint, fingerprint)
    ) {
      throw new RekeyError(Codes.IdempotencyKeyReused, { details: { idempotencyKey: key } });
    }
    return row;
  }

  /**
   * A page of the tenant's operations, newest first, and the token of the next page when more
   * follow (keyset paging: rows accepted meanwhile never shift a page). A token that is not one
   * this function made is refused with 7700007.
   */
  async function listTenantOperations(
    filter: OperationFilter,
    page: { readonly top: number; readonly skiptoken?: string | undefined },
  ): Promise<{ readonly operations: ListedOperationRow[]; readonly nextToken: string | undefined }> {
    const after = page.skiptoken === undefined ? undefined : decodeCursor(page.skiptoken);
    const rows = await listOperations(db.kysely, tenantId, filter, { after, limit: page.top + 1 });
    const operations = rows.slice(0, page.top);
    const last = operations.at(-1);
    const nextToken =
      rows.length > page.top && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : undefined;
    return { operations: await withUserPrincipalNames(operations), nextToken };
  }

  /** The rows with the user principal name of each operation's user (null for one no longer there). */
  async function withUserPrincipalNames(
    rows: readonly PasswordOperationRow[],
  ): Promise<ListedOperationRow[]> {
    const users = await findUsersForLog(
      db.kysely,
      tenantId,
      rows.map((row) => row.user_id),
    );
    const names = new Map(users.map((user) => [user.id, user.user_principal_name]));
    return rows.map((row) => ({ ...row, user_principal_name: names.get(row.user_id) ?? null }));
  }

  /** An operation of this tenant with its whole history, oldest entry first; undefined if none. */
  async function getOperationWithHistory(
    operationId: string,
  ): Promise<{ readonly operation: ListedOperationRow; readonly events: OperationEventRow[] } | undefined> {
    const operation = await findOperation(db.kysely, tenantId, operationId);
    if (!operation) return undefined;
    const [named] = await withUserPrincipalNames([operation]);
    return named && { operation: named, events: await listOperationEvents(db.kysely, operationId) };
  }

  /**
   * Refuses, with 7700901, a new change for a user while another of their operations may still
   * apply (not started, running or waiting for a retry). Run it as `runNow`'s guard, after the
   * caller locked the user's row, so two such checks for one user never pass together.
   */
  async function assertNoUnfinishedOperation(trx: Kysely<Database>, userId: string): Promise<void> {
    const unfinished = await listUnfinishedOperationIds(trx, userId, '');
    if (unfinished.length > 0)
      throw new RekeyError(Codes.PasswordOperationInProgress, { details: { operationId: unfinished[0] } });
  }

  return {
    accept,
    accepted,
    runOperation,
    runNow,
    begin,
    waitFor,
    claimDueOperations,
    runClaimed,
    runDueOperations,
    getOperation,
    getOperationWithHistory,
    listOperations: listTenantOperations,
    assertNoUnfinishedOperation,
    fingerprintRequest,
    findByIdempotencyKey,
  };
}

/** The opaque page token of a keyset position. */
function encodeCursor(cursor: OperationCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), 'utf8').toString('base64url');
}

/** The keyset position of a page token; 7700007 for anything else. */
function decodeCursor(token: string): OperationCursor {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      typeof decoded[0] === 'string' &&
      typeof decoded[1] === 'string'
    )
      return { createdAt: decoded[0], id: decoded[1] };
  } catch {
    // Refused below, as any other malformed token.
  }
  throw new RekeyError(Codes.InvalidQueryOption, {
    message: 'The page token is not valid; follow the @odata.nextLink of the previous page as it is.',
    details: { option: 'skiptoken' },
  });
}

/** An operation as the transition to `succeeded` at `at` leaves it (see transitionOperation). */
function succeededRow(operation: PasswordOperationRow, at: string): PasswordOperationRow {
  return {
    ...operation,
    state: 'succeeded',
    step: 'completed',
    updated_at: at,
    completed_at: at,
    error_code: null,
    error_retryable: null,
    error_detail: null,
    lease_owner: null,
    lease_expires_at: null,
    secret_ciphertext: null,
  };
}

/** A guard's refusal, carried out of the transaction it rolled back so it is not recorded as a failure. */
class Refusal {
  constructor(readonly reason: unknown) {}
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The promise's value, or undefined if it is not settled within `ms` (it goes on regardless). */
async function untilTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Compares two fingerprints in constant time (they are MACs of a request that may hold a password). */
function sameFingerprint(stored: string, given: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
