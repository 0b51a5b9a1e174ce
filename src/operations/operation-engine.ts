import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../platform/clock.js';
import type { SecretBox } from '../platform/crypto/secret-box.js';
import type { Db } from '../platform/db/database.js';
import type { Database, OperationKind, PasswordOperationRow } from '../platform/db/schema.js';
import { Codes } from '../platform/errors/catalog.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import type { Logger } from '../platform/log.js';
import type { Actor, RequestContext } from '../platform/request-context.js';
import {
  abandonOperation,
  claimOperation,
  findOperation,
  findOperationByIdempotencyKey,
  insertOperation,
  listDueOperationIds,
  type OperationEvent,
  renewLease,
  transitionOperation,
} from './operation-store.js';

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
}

export const defaultOperationSettings: OperationSettings = {
  leaseSeconds: 30,
  deadlineSeconds: 15 * 60,
  backoffBaseSeconds: 1,
  backoffMaxSeconds: 300,
};

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
}

interface JobAttempt {
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

  /** The index of the step to run next, from the step an operation last recorded. */
  function resumeIndex(job: RunnableJob, step: string): number {
    return Math.max(
      0,
      job.steps.findIndex((s) => s.name === step),
    );
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
      await transitionOperation(db.kysely, operation.id, attemptOwner, change);
      return;
    }
    // The end and the job's record of it commit together: a lost lease writes neither.
    await db.kysely.transaction().execute(async (trx) => {
      if (!(await transitionOperation(trx, operation.id, attemptOwner, change))) return;
      await jobs[operation.kind].terminated(trx, operation, change.error, origin, change.at);
    });
  }

  /**
   * Runs the steps of a claimed operation from the one it reached, checkpointing as it goes.
   * Returns false when the lease was lost on the way (another attempt finishes the operation).
   */
  async function runSteps(
    operation: PasswordOperationRow,
    attemptOwner: string,
    origin: Origin,
    lease: Lease,
  ): Promise<boolean> {
    const job = jobs[operation.kind];
    let step = operation.step;
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
      const work = await job.begin(operation, { origin, secret });
      const { steps } = job;
      let index = resumeIndex(job, operation.step);
      while (index < steps.length) {
        const current = steps[index];
        if (!current) break;
        step = current.name;
        let end = index + 1;
        if (current.touches === 'external') {
          if (lease.isLost()) return false;
          await fault(`before:${current.name}`, operation);
          await work.run(current.name, db.kysely, clock.now().toISOString());
          await fault(`after:${current.name}`, operation);
        } else {
          while (steps[end]?.touches === 'database') end += 1;
        }
        const next = steps[end];
        const moved = await db.kysely.transaction().execute(async (trx) => {
          const at = clock.now().toISOString();
          const change = next
            ? { state: 'running' as const, step: next.name, at }
            : { state: 'succeeded' as const, step: 'completed', at, error: null };
          if (!(await transitionOperation(trx, operation.id, attemptOwner, change))) return false;
          if (current.touches === 'database') {
            for (const inner of steps.slice(index, end)) {
              step = inner.name;
              await fault(`before:${inner.name}`, operation);
              await work.run(inner.name, trx, at);
              await fault(`after:${inner.name}`, operation);
            }
          }
          if (!next) await work.succeeded(trx, at);
          return true;
        });
        if (!moved) {
          logger.warn(
            { operationId: operation.id },
            'lost the lease on an operation; another worker finishes it',
          );
          return false;
        }
        index = end;
      }
    } catch (error) {
      await fail(operation, attemptOwner, step, toRekeyError(error, operation.id), origin);
    }
    return true;
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
    // Each attempt holds the lease under its own name: an attempt whose lease lapsed and was taken
    // over, even by this same process, can then never move the operation after its successor.
    const attemptOwner = `${owner}:${randomUUID().slice(0, 8)}`;
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
    if (!claimed) return findOperation(db.kysely, tenantId, operationId);
    const lease = holdLease(operationId, attemptOwner);
    try {
      await runSteps(claimed, attemptOwner, origin, lease);
    } finally {
      lease.stop();
    }
    return findOperation(db.kysely, tenantId, operationId);
  }

  /**
   * Runs a new operation to its end for a caller who waits for the outcome, and returns it ended.
   * When every step only touches the database, the whole operation (its row, history, effects and
   * audit) is one transaction: nothing to lose, nothing to repeat, and the secret is never stored.
   * Otherwise it is accepted and attempted here at once; an attempt that ends waiting for a retry
   * is ended instead, because the caller is told the outcome now and nothing may change later
   * behind their back (and overwrite a password set since).
   *
   * `alsoCommit` joins the transaction that records the operation (success or failure).
   */
  async function runNow(
    operation: NewOperation,
    secret: string | undefined,
    origin: Origin,
    alsoCommit?: (trx: Kysely<Database>) => Promise<void>,
  ): Promise<PasswordOperationRow> {
    const job = jobs[operation.kind];
    if (job.steps.some((step) => step.touches === 'external')) {
      const row = await db.kysely.transaction().execute(async (trx) => {
        const inserted = await accept(trx, operation, secret);
        await alsoCommit?.(trx);
        return inserted;
      });
      return finishInline(row.id, origin);
    }
    const row = rowOf(operation, undefined);
    let step = job.steps[0]?.name ?? 'completed';
    try {
      const work = await job.begin(row, { origin, secret });
      return await db.kysely.transaction().execute(async (trx) => {
        // What the caller records with the operation comes first, as it did when it was accepted.
        await alsoCommit?.(trx);
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
        for (const current of job.steps) {
          step = current.name;
          await fault(`before:${current.name}`, done);
          await work.run(current.name, trx, at);
          await fault(`after:${current.name}`, done);
        }
        await work.succeeded(trx, at);
        return done;
      });
    } catch (error) {
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
      const events: OperationEvent[] = [
        { at: row.created_at, state: 'notStarted', step: row.step, detail: null },
        { at, state: 'running', step, detail: 'attempt 1' },
        { at, state: 'terminated', step, detail: cause.message },
      ];
      await db.kysely.transaction().execute(async (trx) => {
        await insertOperation(trx, ended, events);
        await alsoCommit?.(trx);
        await job.terminated(trx, ended, { code: cause.code, detail: cause.message }, origin, at);
      });
      return ended;
    }
  }

  /** Attempts an accepted operation now and ends it if the attempt left it waiting for a retry. */
  async function finishInline(operationId: string, origin: Origin): Promise<PasswordOperationRow> {
    // Wall time, not the injected clock: this bounds a real wait, and tests may freeze the clock.
    const giveUpAt = Date.now() + settings.leaseSeconds * 1000;
    let row = await runOperation(operationId, origin);
    while ((row?.state === 'notStarted' || row?.state === 'running') && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      row = await runOperation(operationId, origin);
    }
    if (row?.state === 'retryScheduled') {
      const waiting = row;
      const at = clock.now().toISOString();
      await db.kysely.transaction().execute(async (trx) => {
        const abandoned = await abandonOperation(
          trx,
          operationId,
          at,
          'The caller was answered with the failure; not retried.',
        );
        if (!abandoned) return;
        await jobs[waiting.kind].terminated(
          trx,
          waiting,
          { code: waiting.error_code ?? Codes.PasswordChangeFailure, detail: waiting.error_detail },
          origin,
          at,
        );
      });
      row = await findOperation(db.kysely, tenantId, operationId);
    }
    if (!row)
      throw new RekeyError(Codes.PasswordChangeFailure, {
        message: 'The operation disappeared while it ran.',
      });
    return row;
  }

  /** Runs every operation that is due now; returns how many were attempted. */
  async function runDueOperations(limit = 20): Promise<number> {
    const ids = await listDueOperationIds(db.kysely, clock.now().toISOString(), limit);
    for (const id of ids) await runOperation(id);
    return ids.length;
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

  return {
    accept,
    accepted,
    runOperation,
    runNow,
    runDueOperations,
    getOperation,
    fingerprintRequest,
    findByIdempotencyKey,
  };
}

/** Compares two fingerprints in constant time (they are MACs of a request that may hold a password). */
function sameFingerprint(stored: string, given: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
