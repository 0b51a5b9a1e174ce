import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import type { Clock } from '../platform/clock.js';
import { createSecretBox } from '../platform/crypto/secret-box.js';
import type { OperationKind } from '../platform/db/schema.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';
import {
  createOperationEngine,
  defineJob,
  type FaultHook,
  type NewOperation,
  type OperationSettings,
  type RunnableJob,
} from './operation-engine.js';
import { findOperation, listOperationEvents } from './operation-store.js';
import { createOperationWorker } from './operation-worker.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A clock that only moves when the test moves it. */
class TestClock implements Clock {
  private current = new Date('2031-01-02T03:04:05.000Z');

  now(): Date {
    return new Date(this.current);
  }

  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

/** What the test job did, across attempts and engines. */
interface Ledger {
  /** Each step run, in order (a database step's entry is kept only if its transaction commits). */
  calls: string[];
  /** The step names that fail, once each, with the given code. */
  failOnce: Map<string, number>;
  /** Wall milliseconds the external step takes. */
  externalMs: number;
}

/**
 * A job of three steps, `reserve` (database), `callOut` (external) and `record` (database),
 * that writes what it did into an audit-free table of its own: the engine's behaviour, free of
 * what password operations do.
 */
function testJob(ledger: Ledger): RunnableJob {
  const maybeFail = (step: string) => {
    const code = ledger.failOnce.get(step);
    if (code === undefined) return;
    ledger.failOnce.delete(step);
    throw new RekeyError(code as 120020);
  };
  return defineJob<{ secret: string | undefined }>({
    async begin(_operation, start) {
      return { secret: start.secret };
    },
    steps: [
      {
        name: 'reserve',
        touches: 'database',
        async run(work, trx) {
          maybeFail('reserve');
          // A real write in the step's transaction: it must commit or vanish with the checkpoint.
          await trx
            .updateTable('users')
            .set({ job_title: `reserved ${work.secret}` })
            .execute();
          ledger.calls.push('reserve');
        },
      },
      {
        name: 'callOut',
        touches: 'external',
        async run() {
          ledger.calls.push('callOut');
          if (ledger.externalMs > 0) await new Promise((resolve) => setTimeout(resolve, ledger.externalMs));
          maybeFail('callOut');
        },
      },
      {
        name: 'record',
        touches: 'database',
        async run() {
          maybeFail('record');
          ledger.calls.push('record');
        },
      },
    ],
    async succeeded() {
      ledger.calls.push('succeeded');
    },
    async terminated(_trx, _operation, cause) {
      ledger.calls.push(`terminated ${cause.code}`);
    },
  });
}

describe.each(dialects)('the operation engine on %s', (dialect) => {
  let rekey: TestRekey;
  let userId: string;
  const clock = new TestClock();

  /**
   * Runs `work` while the test clock moves a second every 20 ms of real time, so a retry's backoff
   * comes due while a caller waits (the engine's wait is on the real clock).
   */
  async function whileTheClockRuns<T>(work: () => Promise<T>): Promise<T> {
    const ticker = setInterval(() => clock.advance(1), 20);
    try {
      return await work();
    } finally {
      clearInterval(ticker);
    }
  }
  const settings: OperationSettings = {
    leaseSeconds: 30,
    deadlineSeconds: 120,
    backoffBaseSeconds: 3,
    backoffMaxSeconds: 20,
  };

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { clock });
    userId = (await rekey.createUser('engine.subject', 'Amber-Lantern-8!')).id;
  });
  afterAll(async () => rekey?.close());

  function engineFor(ledger: Ledger, options: { faults?: FaultHook; settings?: OperationSettings } = {}) {
    const job = testJob(ledger);
    const jobs: Record<OperationKind, RunnableJob> = {
      selfChange: job,
      expiredChange: job,
      adminReset: job,
      selfServiceReset: job,
    };
    return createOperationEngine({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      // No jitter: the backoff is then exactly half its window, so a test can name it.
      random: () => 0,
      secretBox: createSecretBox(Buffer.alloc(32, 7)),
      logger: createLogger('silent'),
      settings: options.settings ?? settings,
      jobs,
      faults: options.faults,
    });
  }

  const ledger = (): Ledger => ({ calls: [], failOnce: new Map(), externalMs: 0 });

  function newOperation(): NewOperation {
    return {
      id: randomUUID(),
      tenant_id: rekey.tenant.id,
      user_id: userId,
      kind: 'adminReset',
      requested_by_user_id: null,
      requested_by_app_id: null,
      correlation_id: `engine-${randomUUID()}`,
      idempotency_key: null,
      idempotency_fingerprint: null,
      force_change: 0,
      created_at: clock.now().toISOString(),
    };
  }

  async function accepted(engine: ReturnType<typeof engineFor>, secret = 'the-secret') {
    const operation = newOperation();
    await rekey.db.kysely.transaction().execute((trx) => engine.accept(trx, operation, secret));
    return operation.id;
  }

  async function row(id: string) {
    const found = await findOperation(rekey.db.kysely, rekey.tenant.id, id);
    if (!found) throw new Error(`operation ${id} missing`);
    return found;
  }

  it('keeps the secret sealed at rest and hands it to the job opened', async () => {
    const l = ledger();
    const engine = engineFor(l);
    const id = await accepted(engine, 'Cobalt-Secret-1!');
    const stored = await row(id);
    expect(stored.secret_ciphertext).not.toContain('Cobalt-Secret-1!');
    await engine.runOperation(id);
    expect(await row(id)).toMatchObject({ state: 'succeeded', step: 'completed', secret_ciphertext: null });
    const title = await rekey.db.kysely
      .selectFrom('users')
      .select('job_title')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    expect(title.job_title).toBe('reserved Cobalt-Secret-1!');
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);
  });

  it('checkpoints after an external step, so a retry resumes after it instead of repeating it', async () => {
    const l = ledger();
    l.failOnce.set('record', 120020);
    const engine = engineFor(l);
    const id = await accepted(engine);
    const first = await engine.runOperation(id);
    expect(first).toMatchObject({ state: 'retryScheduled', step: 'record', attempts: 1, error_code: 120020 });
    // Backoff as settings say: base 3 s doubled for the first attempt, no jitter: half of 6 s.
    expect(Date.parse(first?.next_attempt_at ?? '') - clock.now().getTime()).toBe(3000);
    clock.advance(3);
    expect((await engine.runOperation(id))?.state).toBe('succeeded');
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);
    expect((await listOperationEvents(rekey.db.kysely, id)).map((e) => [e.state, e.step])).toEqual([
      ['notStarted', 'accepted'],
      ['running', 'accepted'],
      ['running', 'callOut'],
      ['running', 'record'],
      ['retryScheduled', 'record'],
      ['running', 'record'],
      ['succeeded', 'completed'],
    ]);
  });

  it('rolls back a database step with its checkpoint when a fault strikes inside the transaction', async () => {
    const l = ledger();
    let armed = true;
    const engine = engineFor(l, {
      faults: (point) => {
        if (armed && point === 'after:reserve') {
          armed = false;
          throw new Error('worker died after reserve');
        }
      },
    });
    const id = await accepted(engine);
    expect(await engine.runOperation(id)).toMatchObject({ state: 'retryScheduled', step: 'reserve' });
    // The step's write did not survive the fault: the transaction that held it rolled back.
    expect(l.calls).toEqual(['reserve']);
    clock.advance(settings.backoffBaseSeconds * 2);
    expect(await engine.runOperation(id)).toMatchObject({ state: 'succeeded' });
    expect(l.calls).toEqual(['reserve', 'reserve', 'callOut', 'record', 'succeeded']);
  });

  it('calls the fault hook before and after every step, in order', async () => {
    const points: string[] = [];
    const engine = engineFor(ledger(), { faults: (point) => void points.push(point) });
    await engine.runOperation(await accepted(engine));
    expect(points).toEqual([
      'before:reserve',
      'after:reserve',
      'before:callOut',
      'after:callOut',
      'before:record',
      'after:record',
    ]);
  });

  it('terminates at once on a failure that is not retryable, and at the deadline otherwise', async () => {
    const l = ledger();
    l.failOnce.set('callOut', 7700105);
    const engine = engineFor(l);
    const fatal = await accepted(engine);
    expect(await engine.runOperation(fatal)).toMatchObject({
      state: 'terminated',
      error_code: 7700105,
      error_retryable: 0,
      secret_ciphertext: null,
    });
    expect(l.calls).toContain('terminated 7700105');

    const late = await accepted(engine);
    clock.advance(settings.deadlineSeconds + 1);
    expect(await engine.runOperation(late)).toMatchObject({ state: 'terminated', error_code: 120020 });
  });

  it('caps the backoff at the maximum the settings name', async () => {
    const l = ledger();
    const engine = engineFor(l);
    const id = await accepted(engine);
    const waits: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      l.failOnce.set('reserve', 120020);
      const at = clock.now().getTime();
      const failed = await engine.runOperation(id);
      const wait = Date.parse(failed?.next_attempt_at ?? '') - at;
      waits.push(wait);
      clock.advance(wait / 1000);
    }
    // 3 s base: windows of 6, 12, 24 (capped to 20) and 48 (capped to 20) seconds, halved.
    expect(waits).toEqual([3000, 6000, 10000, 10000]);
  });

  it('renews the lease while a slow external step runs, so nobody takes the operation over', async () => {
    const l = ledger();
    l.externalMs = 1600;
    // A one-second lease is renewed every third of a second (wall time); the test clock moves
    // a tenth of a second every 100 ms meanwhile, so without renewals the lease would lapse.
    const engine = engineFor(l, { settings: { ...settings, leaseSeconds: 1 } });
    const rivalLedger = ledger();
    const rival = engineFor(rivalLedger, { settings: { ...settings, leaseSeconds: 1 } });
    const id = await accepted(engine);
    const claimedAt = clock.now().getTime();
    const ticker = setInterval(() => clock.advance(0.1), 100);
    let rivalSaw: string | null | undefined;
    const rivalTry = new Promise<void>((resolve) => {
      setTimeout(() => {
        void rival.runOperation(id).then((seen) => {
          rivalSaw = seen?.lease_owner;
          resolve();
        });
      }, 1300);
    });
    try {
      expect((await engine.runOperation(id))?.state).toBe('succeeded');
      await rivalTry;
    } finally {
      clearInterval(ticker);
    }
    // The rival came when the first lease (claim time + 1 s) had long passed on the clock, and
    // found the operation still held: renewed, not lapsed.
    expect(rivalSaw).toMatch(/^worker-/);
    expect(clock.now().getTime() - claimedAt).toBeGreaterThan(1000);
    expect(rivalLedger.calls).toEqual([]);
    expect((await row(id)).attempts).toBe(1);
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);
  });

  it('runs an operation with an external step for a waiting caller: succeeded, terminated with its cause, or still going at the wait limit', async () => {
    const l = ledger();
    const engine = engineFor(l);
    const origin = { ipAddress: '127.0.0.1', userAgent: undefined };
    const done = await engine.runNow(newOperation(), 'Inline-Secret-1!', origin);
    expect(done).toMatchObject({ state: 'succeeded', secret_ciphertext: null });
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);

    // A failure retrying cannot fix ends it at once, with the cause kept for the caller's 120008.
    l.calls.length = 0;
    l.failOnce.set('callOut', 7700105);
    const fatal = await engine.runNow(newOperation(), 'Inline-Secret-2!', origin);
    expect(fatal).toMatchObject({ state: 'terminated', error_code: 7700105, secret_ciphertext: null });
    expect(l.calls).toEqual(['reserve', 'callOut', 'terminated 7700105']);

    // A retryable failure is retried while the caller waits: the request itself runs the retry
    // when it is due (the clock moves on meanwhile), and the caller gets the success.
    l.calls.length = 0;
    l.failOnce.set('callOut', 120020);
    const retried = await whileTheClockRuns(() =>
      engine.runNow(newOperation(), 'Inline-Secret-3!', origin, { waitSeconds: 5 }),
    );
    expect(retried).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(l.calls).toEqual(['reserve', 'callOut', 'callOut', 'record', 'succeeded']);

    // Still waiting for its retry when the wait runs out: the caller gets it still going, and
    // it is not ended behind their back; it goes on and succeeds later.
    l.calls.length = 0;
    l.failOnce.set('callOut', 120020);
    const waiting = await engine.runNow(newOperation(), 'Inline-Secret-4!', origin, { waitSeconds: 0.3 });
    expect(waiting).toMatchObject({ state: 'retryScheduled', error_code: 120020 });
    expect(waiting.secret_ciphertext).not.toBeNull();
    clock.advance(settings.backoffMaxSeconds + 1);
    expect(await engine.runOperation(waiting.id)).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(l.calls).toEqual(['reserve', 'callOut', 'callOut', 'record', 'succeeded']);

    // A slow external step outlives the wait: the caller gets it running; the attempt finishes.
    l.calls.length = 0;
    l.externalMs = 600;
    const slow = await engine.runNow(newOperation(), 'Inline-Secret-5!', origin, { waitSeconds: 0.2 });
    l.externalMs = 0;
    expect(slow.state).toBe('running');
    for (let i = 0; i < 100 && (await row(slow.id)).state !== 'succeeded'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await row(slow.id)).state).toBe('succeeded');
  });

  it("runs a waiting caller's leading database steps in the commit that records the operation, and records their failure as the first attempt's", async () => {
    const l = ledger();
    const engine = engineFor(l);
    const origin = { ipAddress: '127.0.0.1', userAgent: undefined };
    const done = await engine.runNow(newOperation(), 'Leading-Secret-1!', origin);
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);
    // The history is the one a worker's attempt leaves: the move past `reserve` is kept.
    expect((await listOperationEvents(rekey.db.kysely, done.id)).map((e) => [e.state, e.step])).toEqual([
      ['notStarted', 'accepted'],
      ['running', 'accepted'],
      ['running', 'callOut'],
      ['running', 'record'],
      ['succeeded', 'completed'],
    ]);

    // A leading step that fails for good: the operation is still recorded, ended at that step
    // with its cause, and the external step never runs.
    l.calls.length = 0;
    l.failOnce.set('reserve', 7700105);
    const fatal = await engine.runNow(newOperation(), 'Leading-Secret-2!', origin);
    expect(fatal).toMatchObject({ state: 'terminated', step: 'reserve', error_code: 7700105, attempts: 1 });
    expect(l.calls).toEqual(['terminated 7700105']);
    expect((await listOperationEvents(rekey.db.kysely, fatal.id)).at(-1)).toMatchObject({
      state: 'terminated',
      step: 'reserve',
      code: 7700105,
    });

    // A leading step that fails and may work later: retried while the caller waits.
    l.calls.length = 0;
    l.failOnce.set('reserve', 120020);
    const retried = await whileTheClockRuns(() =>
      engine.runNow(newOperation(), 'Leading-Secret-3!', origin, { waitSeconds: 5 }),
    );
    expect(retried).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);
  });

  it('keeps every state change with its catalog code and retryable flag', async () => {
    const l = ledger();
    l.failOnce.set('callOut', 120020);
    const engine = engineFor(l);
    const retried = await accepted(engine);
    await engine.runOperation(retried);
    clock.advance(settings.backoffBaseSeconds * 2);
    await engine.runOperation(retried);
    const events = await listOperationEvents(rekey.db.kysely, retried);
    expect(events.map((e) => [e.state, e.step, e.code, e.retryable])).toEqual([
      ['notStarted', 'accepted', null, null],
      ['running', 'accepted', null, null],
      ['running', 'callOut', null, null],
      ['retryScheduled', 'callOut', 120020, 1],
      ['running', 'callOut', null, null],
      ['running', 'record', null, null],
      ['succeeded', 'completed', null, null],
    ]);
    expect(events.every((e) => typeof e.at === 'string' && e.at.endsWith('Z'))).toBe(true);

    l.failOnce.set('reserve', 7700105);
    const fatal = await accepted(engine);
    await engine.runOperation(fatal);
    expect((await listOperationEvents(rekey.db.kysely, fatal)).at(-1)).toMatchObject({
      state: 'terminated',
      code: 7700105,
      retryable: 0,
    });
  });

  it('claims several due operations at once and never one twice, also when two engines claim together', async () => {
    const engine = engineFor(ledger());
    const rival = engineFor(ledger());
    // Whatever earlier tests left due is claimed and run first.
    await engine.runDueOperations(100);
    const ids = new Set<string>();
    for (let i = 0; i < 12; i += 1) ids.add(await accepted(engine));
    const [mine, theirs] = await Promise.all([engine.claimDueOperations(8), rival.claimDueOperations(8)]);
    const claimed = [...mine, ...theirs].map((c) => c.row.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.every((id) => ids.has(id))).toBe(true);
    // Both dialects hand out all 12 between the two claims or in the claims that follow.
    const rest = await engine.claimDueOperations(20);
    expect(claimed.length + rest.length).toBe(12);
    await Promise.all([...mine, ...theirs, ...rest].map((c) => engine.runClaimed(c)));
    for (const id of ids) expect((await row(id)).state).toBe('succeeded');
  });

  it('runs several operations at once in one worker, so one blocked external step does not hold up the queue', async () => {
    // Its external step blocks until the test releases it, for the operation whose secret says so.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls: string[] = [];
    const blocking = defineJob<{ secret: string | undefined }>({
      async begin(_operation, start) {
        return { secret: start.secret };
      },
      steps: [
        {
          name: 'callOut',
          touches: 'external',
          async run(work) {
            calls.push(`callOut ${work.secret}`);
            if (work.secret === 'block') await released;
          },
        },
        { name: 'record', touches: 'database', async run() {} },
      ],
      async succeeded(_trx, work) {
        calls.push(`succeeded ${work.secret}`);
      },
      async terminated() {},
    });
    const engine = createOperationEngine({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      random: () => 0,
      secretBox: createSecretBox(Buffer.alloc(32, 7)),
      logger: createLogger('silent'),
      settings,
      jobs: {
        selfChange: blocking,
        expiredChange: blocking,
        adminReset: blocking,
        selfServiceReset: blocking,
      },
    });
    // Whatever earlier tests left due is run first, so the worker sees only these.
    await engineFor(ledger()).runDueOperations(100);
    const accept = async (secret: string) => {
      const operation = newOperation();
      await rekey.db.kysely.transaction().execute((trx) => engine.accept(trx, operation, secret));
      return operation.id;
    };
    const blocked = await accept('block');
    const worker = createOperationWorker(engine, createLogger('silent'), { pollMs: 10, concurrency: 3 });
    worker.start();
    try {
      for (let i = 0; i < 100 && !calls.includes('callOut block'); i += 1) await sleep(10);
      const others = [await accept('one'), await accept('two'), await accept('three')];
      worker.nudge();
      for (let i = 0; i < 300; i += 1) {
        const states = await Promise.all(others.map(async (id) => (await row(id)).state));
        if (states.every((state) => state === 'succeeded')) break;
        await sleep(10);
      }
      // The three ran past the blocked one, two slots beside it; it is still running.
      for (const id of others) expect((await row(id)).state).toBe('succeeded');
      expect((await row(blocked)).state).toBe('running');
      expect(calls).not.toContain('succeeded block');
      expect(worker.running()).toBe(1);
    } finally {
      release();
      await worker.stop();
    }
    // Stopping waited for the blocked attempt to finish rather than leaving it half done.
    expect((await row(blocked)).state).toBe('succeeded');
    expect(worker.running()).toBe(0);
  });

  it('runs a database-only operation for a waiting caller in one transaction, never storing its secret', async () => {
    const l = ledger();
    const databaseOnly = defineJob<undefined>({
      async begin() {
        return undefined;
      },
      steps: [
        {
          name: 'only',
          touches: 'database',
          async run() {
            l.calls.push('only');
          },
        },
      ],
      async succeeded() {
        l.calls.push('succeeded');
      },
      async terminated(_trx, _operation, cause) {
        l.calls.push(`terminated ${cause.code}`);
      },
    });
    const engine = createOperationEngine({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      random: () => 0,
      secretBox: createSecretBox(Buffer.alloc(32, 7)),
      logger: createLogger('silent'),
      settings,
      jobs: {
        selfChange: databaseOnly,
        expiredChange: databaseOnly,
        adminReset: databaseOnly,
        selfServiceReset: databaseOnly,
      },
    });
    const done = await engine.runNow(newOperation(), 'Never-Stored-1!', {
      ipAddress: '127.0.0.1',
      userAgent: undefined,
    });
    expect(done).toMatchObject({ state: 'succeeded', attempts: 1, secret_ciphertext: null });
    expect(await row(done.id)).toMatchObject({ state: 'succeeded', secret_ciphertext: null });
    expect((await listOperationEvents(rekey.db.kysely, done.id)).map((e) => e.state)).toEqual([
      'notStarted',
      'running',
      'succeeded',
    ]);
    expect(l.calls).toEqual(['only', 'succeeded']);
  });
});
