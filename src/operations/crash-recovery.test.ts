import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { type FixtureUser, fixtureUsers, peopleDn } from '../../test/support/slapd-fixtures.js';
import { startWorker, stopWorker, type WorkerProcess, within } from '../../test/support/worker-process.js';
import { createLdapDirectory } from '../directories/ldap/ldap-directory.js';
import { passwordMethodId } from '../passwords/password-routes.js';
import { systemClock } from '../platform/clock.js';
import type { DialectName } from '../platform/db/database.js';
import { systemContext } from '../platform/request-context.js';

/*
 * Exactly once under SIGKILL, with real processes and a real slapd: for every fault point around
 * the directory write and the cloud commit, an administrator's reset of a synced user is accepted
 * (202) with no worker running, a `rekey worker` started with REKEY_FAULTS kills itself with
 * SIGKILL at that point, and a clean `rekey worker` takes the operation over once its lease
 * lapses. Then the operation has succeeded once, the directory and Rekey both take the new
 * password and refuse the old one, the history gained one entry and one success audit row names
 * the operation. Each point has its own database and its own directory user, so the points run
 * side by side against one slapd: every point on SQLite and every point on PostgreSQL.
 *
 * The lease is REKEY_OPERATION_LEASE's minimum, 5 s, on the real clock of the worker processes:
 * the clean worker waits up to that long before it may take an operation over.
 */

/**
 * When a worker process that has not died (the faulty one) or finished (the clean one) counts as
 * stuck. A bound for a hung process, not a measure: twelve points start two worker processes
 * each (node with tsx, several seconds of CPU to start), five points at a time on a shared
 * two-core machine, so a healthy worker may take well over half a minute to get going.
 */
const stuckAfterMs = 150_000;

/** Two plain active users added to the fixtures, so that each of the twelve points has its own. */
const extraUsers: readonly FixtureUser[] = ['jon', 'lea'].map((uid) => ({
  uid,
  dn: `uid=${uid},${peopleDn}`,
  password: `${uid[0]?.toUpperCase()}${uid.slice(1)}-Start-Pass-1`,
  mail: `${uid}@rekey.test`,
  state: 'active',
}));

const faultPoints = [
  'before:writeOnPremises',
  'after:writeOnPremises',
  'before:commitCloud',
  'after:commitCloud',
  'before:revokeSessions',
  'after:revokeSessions',
] as const;

const directoryUsers: readonly FixtureUser[] = [
  fixtureUsers.ann,
  fixtureUsers.ben,
  fixtureUsers.cat,
  fixtureUsers.dan,
  fixtureUsers.eve,
  fixtureUsers.fay,
  fixtureUsers.gus,
  fixtureUsers.hal,
  fixtureUsers.ivy,
  fixtureUsers.kim,
  ...extraUsers,
];

/** Every fault point on both databases, each with a directory user no other point touches. */
const points = (['sqlite', 'postgres'] as const).flatMap((dialect, d) =>
  faultPoints.map((point, p) => {
    const user = directoryUsers[d * faultPoints.length + p];
    if (!user) throw new Error('not enough directory users for the fault points');
    return { point, dialect, user };
  }),
);

describe('password operations under SIGKILL of the worker, against a real slapd', () => {
  let slapd: TestSlapd;
  const instances: TestRekey[] = [];
  const workers: WorkerProcess[] = [];
  const databaseDirs: string[] = [];

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    await slapd.modify(
      extraUsers
        .map((u) =>
          [
            `dn: ${u.dn}`,
            'changetype: add',
            'objectClass: inetOrgPerson',
            `uid: ${u.uid}`,
            `cn: ${u.uid} Tester`,
            'sn: Tester',
            `mail: ${u.mail}`,
            `userPassword: ${u.password}`,
          ].join('\n'),
        )
        .join('\n\n'),
    );
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await Promise.all(instances.map((rekey) => rekey.close()));
    await slapd?.close();
    for (const dir of databaseDirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Whether the directory itself takes `password` for `user` (a bind as the user). */
  async function directoryBinds(user: FixtureUser, password: string): Promise<boolean> {
    const directory = createLdapDirectory(
      {
        url: slapd.url,
        startTls: false,
        bindDn: slapd.serviceAccount.dn,
        bindPassword: slapd.serviceAccount.password,
        baseDn: slapd.peopleDn,
      },
      { clock: systemClock },
    );
    const outcome = await directory.passwordBinds(user.dn, password, { correlationId: 'crash-test' });
    if (!outcome.ok) throw new Error(`bind check failed: ${outcome.failure.reason}`);
    return outcome.value;
  }

  /** A Rekey of its own (no worker in it) with a writeback connector to slapd, synced. */
  async function startSyncedRekey(dialect: DialectName): Promise<TestRekey> {
    const env: Record<string, string> = { REKEY_RUN_WORKER: 'false' };
    if (dialect === 'sqlite') {
      // A database file, not the harness's in-memory one: the worker processes open it too.
      const dir = mkdtempSync(path.join(tmpdir(), 'rekey-crash-'));
      databaseDirs.push(dir);
      env['REKEY_DATABASE_URL'] = `sqlite:${path.join(dir, 'rekey.sqlite')}`;
    }
    const rekey = await startTestRekey(dialect, { env });
    instances.push(rekey);
    const admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
    const created = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, 'Head office', {
        connectTimeoutMs: 2000,
        operationTimeoutMs: 5000,
        writeback: true,
      }) as Json,
    });
    expect(created.statusCode, created.body).toBe(201);
    const synced = await rekey.app.inject({
      method: 'POST',
      url: `/rekey/v1/connectors/${String(created.json<Json>()['id'])}/sync`,
      headers: bearer(admin),
    });
    expect(synced.json<Json>()['result'], synced.body).toBe('success');
    return rekey;
  }

  async function historyCount(rekey: TestRekey, userId: string): Promise<number> {
    const row = await rekey.db.kysely
      .selectFrom('password_history')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it.concurrent.each(points)(
    'a worker killed at $point ($dialect) loses nothing and repeats nothing',
    async ({ point, dialect, user }) => {
      const newPassword = `Crash-${point.replace(':', '-')}-Quill-7!`;
      const rekey = await startSyncedRekey(dialect);
      const admin = await rekey.adminToken();
      const userId = (await rekey.users.getUser(user.mail)).id;
      const historyBefore = await historyCount(rekey, userId);

      // Accepted through the API with no worker anywhere: 202 and the operation's location.
      const accepted = await rekey.app.inject({
        method: 'POST',
        url: `/v1.0/users/${userId}/authentication/methods/${passwordMethodId}/resetPassword`,
        headers: bearer(admin),
        payload: { newPassword },
      });
      expect(accepted.statusCode, accepted.body).toBe(202);
      const operationId = String(accepted.headers['location']).split('/').pop() ?? '';

      // The faulty worker claims it and kills itself at the point: a real SIGKILL, no cleanup.
      const faulty = startWorker(rekey, { REKEY_FAULTS: `crash:${point}` });
      workers.push(faulty);
      const died = await within(stuckAfterMs, `the worker to die at ${point}`, faulty.exited).catch(
        (error: Error) => {
          throw new Error(`${error.message}; its output:\n${faulty.output}`);
        },
      );
      expect(died, faulty.output).toEqual({ code: null, signal: 'SIGKILL' });
      expect(faulty.output).toContain(`REKEY_FAULTS: SIGKILL at ${point} of operation ${operationId}`);
      const left = await rekey.operations.getOperation(operationId);
      expect(left).toMatchObject({ attempts: 1 });
      expect(left?.state).not.toBe('succeeded');
      // The directory was written before the crash at every point but the first: the clean
      // worker must find the write done, not make it twice.
      expect(await directoryBinds(user, newPassword)).toBe(point !== 'before:writeOnPremises');

      // A clean worker takes it over once the lease lapses, and finishes it.
      const clean = startWorker(rekey, {});
      workers.push(clean);
      const giveUpAt = Date.now() + stuckAfterMs;
      let row = await rekey.operations.getOperation(operationId);
      while (row?.state !== 'succeeded' && row?.state !== 'terminated' && Date.now() < giveUpAt) {
        if (clean.child.exitCode !== null) throw new Error(`the clean worker exited:\n${clean.output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
        row = await rekey.operations.getOperation(operationId);
      }
      await stopWorker(clean);
      expect(row, clean.output).toMatchObject({ state: 'succeeded', attempts: 2, secret_ciphertext: null });

      const succeededEvents = await rekey.db.kysely
        .selectFrom('password_operation_events')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('operation_id', '=', operationId)
        .where('state', '=', 'succeeded')
        .executeTakeFirstOrThrow();
      expect(Number(succeededEvents.n)).toBe(1);

      // The directory and Rekey both take the new password and refuse the old one (a reset's new
      // password is right and must be changed at the next sign-in: 50055).
      expect(await directoryBinds(user, newPassword)).toBe(true);
      expect(await directoryBinds(user, user.password)).toBe(false);
      expect(await rekey.signInCode(user.mail, newPassword)).toBe(50055);
      expect(await rekey.signInCode(user.mail, user.password)).toBe(50126);

      expect(await historyCount(rekey, userId)).toBe(historyBefore + 1);

      // The connector trace of both attempts holds one password modification: a retry after the
      // write found it done by a bind, and a retry from the cloud commit never came back to it.
      const trace = await rekey.app.inject({
        method: 'GET',
        url: `/rekey/v1/operations/${operationId}/connectorCalls`,
        headers: bearer(admin),
      });
      expect(trace.statusCode, trace.body).toBe(200);
      const calls = trace.json<{ value: Array<Record<string, unknown>> }>().value;
      expect(
        calls.filter((call) => call['operation'] === 'passwordModify'),
        JSON.stringify(calls),
      ).toHaveLength(1);

      // One success audit row names the operation, and no other row does.
      const audits = await rekey.db.kysely
        .selectFrom('directory_audits')
        .select(['result', 'activity_display_name'])
        .where('additional_details', 'like', `%${operationId}%`)
        .execute();
      expect(audits.filter((a) => a.result === 'success')).toHaveLength(1);
      expect(audits.filter((a) => a.result !== 'success')).toEqual([]);
    },
    3 * stuckAfterMs,
  );
});
