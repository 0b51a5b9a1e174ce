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

  it('runs an operation with an external step for a waiting caller, and ends it if it would have to wait for a retry', async () => {
    const l = ledger();
    const engine = engineFor(l);
    const origin = { ipAddress: '127.0.0.1', userAgent: undefined };
    const done = await engine.runNow(newOperation(), 'Inline-Secret-1!', origin);
    expect(done).toMatchObject({ state: 'succeeded', secret_ciphertext: null });
    expect(l.calls).toEqual(['reserve', 'callOut', 'record', 'succeeded']);

    l.calls.length = 0;
    l.failOnce.set('callOut', 120020);
    const failed = await engine.runNow(newOperation(), 'Inline-Secret-2!', origin);
    // The caller is answered now, so the retry the failure asked for never comes: the
    // operation ends, with the failure that stopped it, and the job records the end once.
    expect(failed).toMatchObject({ state: 'terminated', error_code: 120020, secret_ciphertext: null });
    expect(l.calls).toEqual(['reserve', 'callOut', 'terminated 120020']);
    clock.advance(settings.backoffMaxSeconds + 1);
    expect(await engine.runOperation(failed.id)).toMatchObject({ state: 'terminated', attempts: 1 });
    expect(l.calls).toEqual(['reserve', 'callOut', 'terminated 120020']);
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
