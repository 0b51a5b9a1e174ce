import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer } from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  lineSink,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { createPasswordCheck, createStoredHashVerifier } from '../auth/password-check.js';
import {
  createOperationEngine,
  defaultOperationSettings,
  type OperationEngine,
} from '../operations/operation-engine.js';
import {
  claimOperation,
  findOperation,
  listOperationEvents,
  transitionOperation,
} from '../operations/operation-store.js';
import { createOperationWorker } from '../operations/operation-worker.js';
import type { Clock } from '../platform/clock.js';
import { createArgon2Hasher, type PasswordHasher } from '../platform/crypto/password-hasher.js';
import { createSecretBox } from '../platform/crypto/secret-box.js';
import { loadSecretKey } from '../platform/crypto/secret-key.js';
import { RekeyError } from '../platform/errors/rekey-error.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { createPasswordJobs } from './password-operation.js';
import { passwordMethodId } from './password-routes.js';
import { createPasswordService, type PasswordService } from './password-service.js';

/** A clock that only moves when the test moves it. */
class TestClock implements Clock {
  private current = new Date('2030-03-04T05:06:07.000Z');

  now(): Date {
    return new Date(this.current);
  }

  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

describe.each(dialects)('password operations: durability and exactly-once on %s', (dialect) => {
  const clock = new TestClock();
  let rekey: TestRekey;
  const logLines: string[] = [];
  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { clock });
  });
  afterAll(async () => rekey?.close());

  /**
   * A second engine over the same database, as another worker process would have, with its own
   * hasher so a test can make one step fail.
   */
  function otherEngine(hasher: PasswordHasher): OperationEngine {
    return createOperationEngine({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      random: Math.random,
      secretBox: createSecretBox(loadSecretKey(rekey.config.secretKey, rekey.dataDir)),
      logger: createLogger('trace', lineSink(logLines)),
      settings: defaultOperationSettings,
      jobs: createPasswordJobs({ tenantId: rekey.tenant.id, hasher }),
    });
  }

  /** Password changes and resets run by such an engine. */
  function otherPasswords(hasher: PasswordHasher): PasswordService & { readonly engine: OperationEngine } {
    const engine = otherEngine(hasher);
    const passwords = createPasswordService({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      operations: engine,
      checkPassword: createPasswordCheck({
        verifier: createStoredHashVerifier(hasher),
        lockout: rekey.lockout,
      }),
      passwordPolicy: rekey.passwordPolicy,
      signInErrorDisclosure: async () => (await rekey.settings.getSignIn()).signInErrorDisclosure,
    });
    return { ...passwords, engine };
  }

  const realHasher = createArgon2Hasher({ memoryKib: 1024, iterations: 1, parallelism: 1 });

  /** A hasher whose `hash` fails the first `failures` times, the way a busy thread pool might. */
  function flakyHasher(failures: number): PasswordHasher & { calls: number } {
    const flaky = {
      calls: 0,
      async hash(password: string) {
        flaky.calls += 1;
        if (flaky.calls <= failures) throw new Error('argon2 worker pool is exhausted');
        return realHasher.hash(password);
      },
      verify: realHasher.verify,
      needsRehash: realHasher.needsRehash,
    };
    return flaky;
  }

  /** A fresh administrator token: the tests move the clock by hours in total. */
  const adminToken = () => rekey.signIn(adminUpn, adminPassword);

  /** Creates a user and an accepted (not yet run) admin reset of their password. */
  async function acceptedReset(alias: string, newPassword = 'Granite-Valley-58!') {
    const user = await rekey.createUser(alias, 'Willow-Brook-31!');
    const correlationId = `durability-${dialect}-${alias}`;
    const response = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${user.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword },
      headers: { ...bearer(await adminToken()), 'client-request-id': correlationId },
    });
    expect(response.statusCode, response.body).toBe(202);
    const location = String(response.headers['location']);
    const operationId = location.split('/').pop() ?? '';
    return { user, operationId, location, correlationId, newPassword };
  }

  async function effects(userId: string, correlationId: string) {
    const [history, user, audits] = await Promise.all([
      rekey.db.kysely.selectFrom('password_history').select('id').where('user_id', '=', userId).execute(),
      rekey.db.kysely
        .selectFrom('users')
        .select(['session_version', 'last_password_change_at'])
        .where('id', '=', userId)
        .executeTakeFirstOrThrow(),
      listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId),
    ]);
    return {
      history: history.length,
      sessionVersion: user.session_version,
      successAudits: audits.filter((a) => a.result === 'success').length,
    };
  }

  async function operation(id: string) {
    const row = await findOperation(rekey.db.kysely, rekey.tenant.id, id);
    if (!row) throw new Error(`operation ${id} is missing`);
    return row;
  }

  async function statesOf(id: string): Promise<string[]> {
    return (await listOperationEvents(rekey.db.kysely, id)).map((e) => e.state);
  }

  async function graphView(location: string) {
    const response = await rekey.app.inject({
      method: 'GET',
      url: location.replace('http://rekey.test', ''),
      headers: bearer(await adminToken()),
    });
    expect(response.statusCode).toBe(200);
    return response.json<{ status: string; statusDetail: string | null; lastActionDateTime: string }>();
  }

  it('finishes, exactly once, an operation whose worker died holding the lease', async () => {
    const { user, operationId, location, correlationId, newPassword } = await acceptedReset('dead.worker');
    const before = await effects(user.id, correlationId);

    // A worker claims the operation for five seconds and then dies without a word.
    const now = clock.now();
    const lease = new Date(now.getTime() + 5000).toISOString();
    expect(
      await claimOperation(rekey.db.kysely, operationId, 'dead-worker', now.toISOString(), lease),
    ).toMatchObject({ id: operationId, state: 'running', lease_owner: 'dead-worker', attempts: 1 });
    expect(await graphView(location)).toMatchObject({ status: 'running' });

    // While its lease lives nobody else may run it.
    expect((await rekey.operations.runOperation(operationId))?.lease_owner).toBe('dead-worker');
    expect(await rekey.operations.runDueOperations()).toBe(0);
    expect(await effects(user.id, correlationId)).toEqual(before);

    // Once it lapses, the next pass takes it over and finishes it.
    clock.advance(6);
    expect(await rekey.operations.runDueOperations()).toBe(1);
    const done = await operation(operationId);
    expect(done).toMatchObject({
      state: 'succeeded',
      attempts: 2,
      lease_owner: null,
      secret_ciphertext: null,
    });

    // The dead worker wakes up and tries to finish too: refused, because it lost the lease.
    expect(
      await transitionOperation(rekey.db.kysely, operationId, 'dead-worker', {
        state: 'succeeded',
        step: 'completed',
        at: clock.now().toISOString(),
        error: null,
      }),
    ).toBe(false);
    // And running it again changes nothing.
    expect((await rekey.operations.runOperation(operationId))?.state).toBe('succeeded');
    expect(await rekey.operations.runDueOperations()).toBe(0);

    expect(await effects(user.id, correlationId)).toEqual({
      history: before.history + 1,
      sessionVersion: before.sessionVersion + 1,
      successAudits: 1,
    });
    expect(await statesOf(operationId)).toEqual(['notStarted', 'running', 'running', 'succeeded']);
    expect(await graphView(location)).toMatchObject({ status: 'succeeded', statusDetail: null });
    expect(await rekey.signInCode(user.userPrincipalName, newPassword)).toBe(50055);
    expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(50126);
  });

  it('commits once when several runs of one operation race, in one process or two', async () => {
    const { user, operationId, correlationId } = await acceptedReset('racing.runs');
    const before = await effects(user.id, correlationId);
    const second = otherEngine(realHasher);
    const results = await Promise.all([
      rekey.operations.runOperation(operationId),
      rekey.operations.runOperation(operationId),
      second.runOperation(operationId),
      second.runDueOperations(),
      rekey.operations.runDueOperations(),
    ]);
    expect(results.length).toBe(5);
    expect((await operation(operationId)).state).toBe('succeeded');
    expect((await operation(operationId)).attempts).toBe(1);
    expect(await effects(user.id, correlationId)).toEqual({
      history: before.history + 1,
      sessionVersion: before.sessionVersion + 1,
      successAudits: 1,
    });
    expect(await statesOf(operationId)).toEqual(['notStarted', 'running', 'succeeded']);
  });

  it('schedules a retry with backoff after a retryable failure, and then succeeds', async () => {
    const { user, operationId, location, correlationId, newPassword } = await acceptedReset('retry.later');
    const before = await effects(user.id, correlationId);
    const flaky = flakyHasher(1);
    const worker = otherEngine(flaky);

    const failedAt = clock.now();
    const first = await worker.runOperation(operationId);
    expect(first).toMatchObject({
      state: 'retryScheduled',
      attempts: 1,
      error_code: 120020,
      error_retryable: 1,
      lease_owner: null,
    });
    expect(first?.secret_ciphertext).not.toBeNull();
    // The first retry waits between one and two seconds (2^1 s, jittered down to half at most).
    const wait = new Date(first?.next_attempt_at ?? 0).getTime() - failedAt.getTime();
    expect(wait).toBeGreaterThanOrEqual(1000);
    expect(wait).toBeLessThanOrEqual(2000);
    const view = await graphView(location);
    expect(view.status).toBe('running');
    expect(view.statusDetail).toMatch(/^retry 1 scheduled for .* after AADSTS120020: /);
    expect(view.statusDetail).not.toContain('argon2 worker pool');
    expect(await effects(user.id, correlationId)).toEqual(before);
    expect(
      logLines.some((l) => l.includes('password operation step failed') && l.includes(operationId)),
    ).toBe(true);

    // Not due yet: nothing runs.
    expect(await worker.runDueOperations()).toBe(0);
    clock.advance(2.001);
    expect(await worker.runDueOperations()).toBe(1);
    expect(await operation(operationId)).toMatchObject({ state: 'succeeded', attempts: 2, error_code: null });
    expect(flaky.calls).toBe(2);
    expect(await statesOf(operationId)).toEqual([
      'notStarted',
      'running',
      'retryScheduled',
      'running',
      'succeeded',
    ]);
    expect(await effects(user.id, correlationId)).toEqual({
      history: before.history + 1,
      sessionVersion: before.sessionVersion + 1,
      successAudits: 1,
    });
    expect(await graphView(location)).toMatchObject({ status: 'succeeded', statusDetail: null });
    expect(await rekey.signInCode(user.userPrincipalName, newPassword)).toBe(50055);
  });

  it('backs off exponentially between retries', async () => {
    const { operationId } = await acceptedReset('retry.backoff');
    const worker = otherEngine(flakyHasher(4));
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const at = clock.now();
      const row = await worker.runOperation(operationId);
      expect(row).toMatchObject({ state: 'retryScheduled', attempts: attempt });
      const wait = new Date(row?.next_attempt_at ?? 0).getTime() - at.getTime();
      expect(wait).toBeGreaterThanOrEqual(2 ** attempt * 500);
      expect(wait).toBeLessThanOrEqual(2 ** attempt * 1000);
      waits.push(wait);
      clock.advance(wait / 1000 + 0.001);
    }
    expect(waits[3] ?? 0).toBeGreaterThan(waits[0] ?? 0);
    expect((await worker.runOperation(operationId))?.state).toBe('succeeded');
  });

  it('terminates an operation that passed its deadline: Graph status failed, statusDetail names the cause', async () => {
    const { user, operationId, location, correlationId } = await acceptedReset('past.deadline');
    const before = await effects(user.id, correlationId);
    clock.advance(15 * 60 + 1);
    expect(await rekey.operations.runDueOperations()).toBe(1);
    const row = await operation(operationId);
    expect(row).toMatchObject({
      state: 'terminated',
      error_code: 120020,
      error_retryable: 1,
      secret_ciphertext: null,
    });
    expect(row.completed_at).toBe(clock.now().toISOString());
    const view = await graphView(location);
    expect(view.status).toBe('failed');
    expect(view.statusDetail).toMatch(
      /^AADSTS120008 PasswordChangeAsyncJobStateTerminated; cause AADSTS120020 PasswordChangeFailure: The operation passed its deadline\.$/,
    );
    expect(await statesOf(operationId)).toEqual(['notStarted', 'running', 'terminated']);
    expect(await effects(user.id, correlationId)).toEqual(before);
    expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(0);
    expect(await rekey.operations.runDueOperations()).toBe(0);
  });

  it('keeps the last failure in the statusDetail when retries run out at the deadline', async () => {
    const { operationId, location } = await acceptedReset('retries.exhausted');
    const worker = otherEngine(flakyHasher(1_000));
    expect((await worker.runOperation(operationId))?.state).toBe('retryScheduled');
    clock.advance(15 * 60 + 1);
    const row = await worker.runOperation(operationId);
    expect(row).toMatchObject({ state: 'terminated', error_code: 120020 });
    const view = await graphView(location);
    expect(view.status).toBe('failed');
    expect(view.statusDetail).toMatch(
      /cause AADSTS120020 PasswordChangeFailure: The operation passed its deadline after AADSTS120020: The password could not be changed/,
    );
  });

  it('terminates at once on a failure that retrying cannot fix', async () => {
    const { user, operationId, location } = await acceptedReset('deleted.meanwhile');
    await rekey.db.kysely
      .updateTable('users')
      .set({ deleted_at: clock.now().toISOString() })
      .where('id', '=', user.id)
      .execute();
    const row = await rekey.operations.runOperation(operationId);
    expect(row).toMatchObject({ state: 'terminated', error_code: 7700105, error_retryable: 0, attempts: 1 });
    expect(await statesOf(operationId)).toEqual(['notStarted', 'running', 'terminated']);
    await rekey.db.kysely.updateTable('users').set({ deleted_at: null }).where('id', '=', user.id).execute();
    expect((await graphView(location)).statusDetail).toMatch(/cause AADSTS7700105 DeletedAccount/);
  });

  it('does not let a self-service change that failed in the request complete later', async () => {
    const user = await rekey.createUser('inline.failure', 'Willow-Brook-31!');
    const service = otherPasswords(flakyHasher(1));
    const error = await service
      .changeOwnPassword(systemContext(`inline-${dialect}`), user.id, {
        currentPassword: 'Willow-Brook-31!',
        newPassword: 'Granite-Valley-58!',
        kind: 'selfChange',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(RekeyError);
    expect((error as RekeyError).code).toBe(120008);
    const [row] = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['id', 'state', 'error_code', 'secret_ciphertext'])
      .where('user_id', '=', user.id)
      .execute();
    expect(row).toMatchObject({ state: 'terminated', error_code: 120020, secret_ciphertext: null });
    // Abandoned in the request: one failure row, with the cause the retry would have tried to fix.
    const [audit, ...more] = await listAuditsByCorrelation(
      rekey.db.kysely,
      rekey.tenant.id,
      `inline-${dialect}`,
    );
    expect(more).toEqual([]);
    expect(audit).toMatchObject({
      activity_display_name: 'Change password (self-service)',
      result: 'failure',
      result_reason: 'AADSTS120008: The password operation ended with an error that retrying will not fix.',
    });
    expect(JSON.parse(audit?.additional_details ?? '[]')).toContainEqual({
      key: 'causeCode',
      value: 'AADSTS120020',
    });
    clock.advance(600);
    expect(await service.engine.runDueOperations()).toBe(0);
    expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(0);
    expect(await rekey.signInCode(user.userPrincipalName, 'Granite-Valley-58!')).toBe(50126);
  });

  it('audits a reset the background worker terminates, once, as the administrator who asked', async () => {
    const { user, operationId, correlationId } = await acceptedReset('worker.gone');
    await rekey.db.kysely
      .updateTable('users')
      .set({ deleted_at: clock.now().toISOString() })
      .where('id', '=', user.id)
      .execute();
    const worker = createOperationWorker(rekey.operations, createLogger('silent'), { pollMs: 10 });
    worker.start();
    try {
      for (let i = 0; i < 200 && (await operation(operationId)).state !== 'terminated'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await worker.stop();
    }
    expect((await operation(operationId)).state).toBe('terminated');
    // Neither a second worker pass nor a late attempt writes the row again.
    await rekey.operations.runDueOperations();
    await rekey.operations.runOperation(operationId);
    const audits = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId);
    expect(audits.map((a) => [a.activity_display_name, a.result, a.initiated_by_upn])).toEqual([
      ['Reset password (by admin)', 'failure', adminUpn],
    ]);
    expect(JSON.parse(audits[0]?.additional_details ?? '[]')).toEqual([
      { key: 'operationId', value: operationId },
      { key: 'causeCode', value: 'AADSTS7700105' },
      { key: 'causeName', value: 'DeletedAccount' },
      { key: 'causeDetail', value: 'The operation is not allowed on a deleted user.' },
    ]);
    expect(JSON.parse(audits[0]?.target_resources ?? '[]')).toMatchObject([
      { id: user.id, userPrincipalName: user.userPrincipalName },
    ]);
    await rekey.db.kysely.updateTable('users').set({ deleted_at: null }).where('id', '=', user.id).execute();
  });

  it('does not let an immediate admin reset that failed in the request complete later', async () => {
    const user = await rekey.createUser('inline.reset.failure', 'Willow-Brook-31!');
    const service = otherPasswords(flakyHasher(1));
    const error = await service
      .resetPasswordNow(systemContext(`inline-reset-${dialect}`), user.id, {
        newPassword: 'Granite-Valley-58!',
        forceChange: false,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as RekeyError).code).toBe(120008);
    clock.advance(600);
    expect(await service.engine.runDueOperations()).toBe(0);
    expect(await rekey.signInCode(user.userPrincipalName, 'Willow-Brook-31!')).toBe(0);
  });

  it('runs queued operations in the background worker and stops cleanly', async () => {
    const accepted = await Promise.all([acceptedReset('worker.one'), acceptedReset('worker.two')]);
    const worker = createOperationWorker(rekey.operations, createLogger('silent'), { pollMs: 10 });
    worker.start();
    try {
      for (let i = 0; i < 200; i += 1) {
        const states = await Promise.all(accepted.map(async (a) => (await operation(a.operationId)).state));
        if (states.every((s) => s === 'succeeded')) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await worker.stop();
    }
    for (const a of accepted) {
      expect((await operation(a.operationId)).state).toBe('succeeded');
      expect(await rekey.signInCode(a.user.userPrincipalName, a.newPassword)).toBe(50055);
    }
  });
});
