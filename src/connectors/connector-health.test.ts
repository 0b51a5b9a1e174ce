import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliTestRekey, runRekeyCli, startCliTestRekey } from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import type { TestRekey } from '../../test/support/rekey-harness.js';
import { connectorBodyFor, startSlapd, type TestSlapd } from '../../test/support/slapd.js';
import { fixtureUsers } from '../../test/support/slapd-fixtures.js';
import type { DirectoryTraceRecord } from '../directories/directory-trace.js';
import { Codes } from '../platform/errors/catalog.js';
import { systemContext } from '../platform/request-context.js';
import { insertConnectorTrace } from './connector-trace-store.js';

/*
 * Connector health on both databases: GET /rekey/v1/connectors/{id}/health and `rekey connectors
 * health`, first over trace rows written through the store at known times and latencies (so every
 * count, rate and percentile has one right answer), then over the rows real calls to a real slapd
 * leave: a connection test, a sync, a sign-in with a wrong password, and a test while slapd is down.
 */

const base = '/rekey/v1/connectors';
const minuteMs = 60_000;

interface HealthCall {
  readonly dateTime: string;
  readonly operation: string;
  readonly outcome: string | null;
  readonly code: number | null;
  readonly reason: string | null;
  readonly ldapResultCode: number | null;
  readonly diagnostic: string | null;
}

interface HealthWindow {
  readonly sinceDateTime: string;
  readonly calls: number;
  readonly succeeded: number;
  readonly refused: number;
  readonly failed: number;
  readonly successRate: number | null;
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null };
  readonly lastError: HealthCall | null;
  readonly lastSuccess: HealthCall | null;
}

interface Health {
  readonly connectorId: string;
  readonly displayName: string;
  readonly generatedDateTime: string;
  readonly lastHour: HealthWindow;
  readonly lastDay: HealthWindow;
}

describe.each(dialects)('connector health on %s', (dialect) => {
  let started: CliTestRekey | undefined;
  let rekey: TestRekey;
  let env: Record<string, string>;
  let admin: string;
  let slapd: TestSlapd;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
    started = await startCliTestRekey(dialect, 'rekey-health-');
    ({ rekey, env } = started);
    admin = await rekey.adminToken();
    await rekey.domains.addDomain(systemContext('test-setup'), { id: 'rekey.test' });
  });
  afterAll(async () => {
    await started?.close();
    await slapd?.close();
  });

  async function addConnector(displayName: string): Promise<string> {
    const response = await rekey.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(admin),
      payload: connectorBodyFor(slapd, displayName, {
        connectTimeoutMs: 1000,
        operationTimeoutMs: 3000,
        syncIntervalSeconds: null,
      }) as Json,
    });
    expect(response.statusCode, response.body).toBe(201);
    return String(response.json<Json>()['id']);
  }

  async function health(idOrName: string): Promise<Health> {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `${base}/${encodeURIComponent(idOrName)}/health`,
      headers: bearer(admin),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<Health>();
  }

  /** One trace record of `connectorId`, `minutesAgo` before now, as a directory client makes it. */
  function record(
    connectorId: string,
    minutesAgo: number,
    latencyMs: number,
    operation: DirectoryTraceRecord['operation'],
    result:
      | { readonly ok: true }
      | {
          readonly resultCode: number | undefined;
          readonly reason: NonNullable<DirectoryTraceRecord['failure']>['reason'];
          readonly code: NonNullable<DirectoryTraceRecord['failure']>['code'];
          readonly diagnostic?: string;
        },
  ): DirectoryTraceRecord {
    const failed = 'reason' in result;
    return {
      operation,
      dn: operation === 'connect' ? undefined : 'uid=ann,ou=people,dc=rekey,dc=test',
      resultCode: failed ? result.resultCode : 0,
      diagnostic: failed ? result.diagnostic : undefined,
      ppolicy: undefined,
      failure: failed ? { reason: result.reason, code: result.code } : undefined,
      startedAt: new Date(Date.now() - minutesAgo * minuteMs),
      latencyMs,
      correlationId: `health-${operation}-${minutesAgo}`,
      connectorId,
      operationId: undefined,
    };
  }

  it('counts, rates, percentiles, last error and last success per window, from stored calls', async () => {
    const id = await addConnector('Stored calls');
    const other = await addConnector('Another connector');
    await insertConnectorTrace(rekey.db.kysely, rekey.tenant.id, [
      // The last hour: two successes, a wrong password (the directory answered), and an outage.
      record(id, 10, 2, 'serviceBind', { ok: true }),
      record(id, 9, 4, 'userBind', { ok: true }),
      record(id, 8, 5, 'userBind', {
        resultCode: 49,
        reason: 'invalidCredentials',
        code: Codes.InvalidUserNameOrPassword,
      }),
      record(id, 5, 1, 'connect', {
        resultCode: undefined,
        reason: 'unreachable',
        code: Codes.PasswordChangeOnPremisesConnectivityFailure,
        diagnostic: 'ECONNREFUSED',
      }),
      // Earlier today: a success and a refused service bind.
      record(id, 180, 50, 'search', { ok: true }),
      record(id, 170, 7, 'serviceBind', {
        resultCode: 49,
        reason: 'serviceBindFailed',
        code: Codes.PasswordChangeADAdminActionRequired,
        diagnostic: 'Invalid credentials',
      }),
      // Yesterday, out of both windows; and another connector's call, out of this one's health.
      record(id, 25 * 60, 1000, 'search', { ok: true }),
      record(other, 1, 9, 'connect', {
        resultCode: undefined,
        reason: 'timeout',
        code: Codes.PasswordChangeOnPremisesConnectivityFailure,
      }),
    ]);

    const shown = await health(id);
    expect(shown).toMatchObject({ connectorId: id, displayName: 'Stored calls' });
    const generated = Date.parse(shown.generatedDateTime);
    expect(generated - Date.parse(shown.lastHour.sinceDateTime)).toBe(60 * minuteMs);
    expect(generated - Date.parse(shown.lastDay.sinceDateTime)).toBe(24 * 60 * minuteMs);
    expect(shown.lastHour).toMatchObject({
      calls: 4,
      succeeded: 2,
      refused: 1,
      failed: 1,
      successRate: 0.75,
      // Latencies 1, 2, 4, 5: rank ceil(0.5 x 4) = 2 and ceil(0.99 x 4) = 4.
      latencyMs: { p50: 2, p99: 5 },
      lastError: {
        operation: 'connect',
        outcome: 'error',
        code: Codes.PasswordChangeOnPremisesConnectivityFailure,
        reason: 'unreachable',
        ldapResultCode: null,
        diagnostic: 'ECONNREFUSED',
      },
      lastSuccess: { operation: 'userBind', outcome: 'success', code: null },
    });
    expect(Date.parse(shown.lastHour.lastSuccess?.dateTime ?? '')).toBeLessThan(generated - 8 * minuteMs);
    expect(Date.parse(shown.lastHour.lastError?.dateTime ?? '')).toBeLessThan(generated - 4 * minuteMs);
    expect(shown.lastDay).toMatchObject({
      calls: 6,
      succeeded: 3,
      refused: 1,
      failed: 2,
      successRate: 0.6667,
      // Latencies 1, 2, 4, 5, 7, 50: rank 3 and rank 6.
      latencyMs: { p50: 4, p99: 50 },
      lastError: { operation: 'connect', reason: 'unreachable' },
      lastSuccess: { operation: 'userBind', outcome: 'success' },
    });

    // The other connector sees only its own call; a connector without calls has no figures.
    expect((await health('another connector')).lastHour).toMatchObject({
      calls: 1,
      failed: 1,
      successRate: 0,
      latencyMs: { p50: 9, p99: 9 },
      lastError: { reason: 'timeout' },
      lastSuccess: null,
    });
    const idle = await health(await addConnector('Idle'));
    expect(idle.lastDay).toEqual({
      sinceDateTime: idle.lastDay.sinceDateTime,
      calls: 0,
      succeeded: 0,
      refused: 0,
      failed: 0,
      successRate: null,
      latencyMs: { p50: null, p99: null },
      lastError: null,
      lastSuccess: null,
    });

    // The CLI reads the same figures.
    const json = await runRekeyCli(env, ['connectors', 'health', 'Stored calls', '--json']);
    expect(json.code, json.err).toBe(0);
    const fromCli = JSON.parse(json.out) as Health;
    expect({ ...fromCli.lastHour, sinceDateTime: '' }).toEqual({ ...shown.lastHour, sinceDateTime: '' });
    expect({ ...fromCli.lastDay, sinceDateTime: '' }).toEqual({ ...shown.lastDay, sinceDateTime: '' });
    const text = await runRekeyCli(env, ['connectors', 'health', id]);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(
      'last hour: 4 calls, 2 succeeded, 1 refused, 1 failed; 75.00% answered; latency p50 2 ms, p99 5 ms',
    );
    expect(text.out).toContain(
      `connect [${Codes.PasswordChangeOnPremisesConnectivityFailure}, unreachable]: ECONNREFUSED`,
    );
    expect(text.out).toContain('last 24 hours: 6 calls, 3 succeeded, 1 refused, 2 failed; 66.67% answered');
  });

  it('answers 404 for an unknown connector, on the API and the CLI', async () => {
    const response = await rekey.app.inject({
      method: 'GET',
      url: `${base}/no-such-connector/health`,
      headers: bearer(admin),
    });
    expectErrorCode(response, 404, Codes.ResourceNotFound);
    const run = await runRekeyCli(env, ['connectors', 'health', 'no-such-connector']);
    expect(run.code).toBe(1);
    expect(run.err).toContain(String(Codes.ResourceNotFound));
  });

  it('reports the calls real test, sync and sign-in make against slapd, and an outage', async () => {
    const id = await addConnector('Head office');
    const test = await rekey.app.inject({
      method: 'POST',
      url: `${base}/${id}/test`,
      headers: bearer(admin),
    });
    expect(test.json<Json>()['success'], test.body).toBe(true);
    const sync = await rekey.app.inject({
      method: 'POST',
      url: `${base}/${id}/sync`,
      headers: bearer(admin),
    });
    expect(sync.json<Json>()['result'], sync.body).toBe('success');
    // A wrong password: the directory refuses the bind, which is the directory working.
    expect(await rekey.signInCode(fixtureUsers.kim.mail, 'Not-Kims-Password-1')).toBe(
      Codes.InvalidUserNameOrPassword,
    );
    expect(await rekey.signInCode(fixtureUsers.kim.mail, fixtureUsers.kim.password)).toBe(0);

    const working = await health(id);
    // The test: connect, StartTLS, bind, search. The sync: connect, bind, and two reads of the
    // paged search (its one page, then its end). Each sign-in: the user's bind alone, on the
    // connection the sync left open (the client keeps connections between calls).
    expect(working.lastHour).toMatchObject({
      calls: 4 + 4 + 2,
      succeeded: 9,
      refused: 1,
      failed: 0,
      successRate: 1,
      lastError: null,
      lastSuccess: { operation: 'userBind', outcome: 'success' },
    });
    expect(working.lastHour.latencyMs.p50).toBeTypeOf('number');
    expect(working.lastHour.latencyMs.p99 ?? -1).toBeGreaterThanOrEqual(working.lastHour.latencyMs.p50 ?? 0);

    await slapd.stop();
    try {
      const down = await rekey.app.inject({
        method: 'POST',
        url: `${base}/${id}/test`,
        headers: bearer(admin),
      });
      expect(down.json<Json>()['success'], down.body).toBe(false);
      const outage = await health('Head office');
      expect(outage.lastHour).toMatchObject({
        // The test's connect fails, and the steps after it are not run.
        calls: 11,
        succeeded: 9,
        refused: 1,
        failed: 1,
        successRate: 0.9091,
        lastError: {
          operation: 'connect',
          outcome: 'error',
          code: Codes.PasswordChangeOnPremisesConnectivityFailure,
          reason: 'unreachable',
          diagnostic: 'ECONNREFUSED',
        },
        lastSuccess: { operation: 'userBind', outcome: 'success' },
      });
      expect(outage.lastDay).toMatchObject({ calls: 11, failed: 1 });
    } finally {
      await slapd.start();
    }
  });
});
