import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, tokenRequestOptions } from '../../test/support/http-helpers.js';
import { passwordGrant, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { passwordMethodId } from './password-routes.js';

interface Exchange {
  readonly label: string;
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

/**
 * Sends one unique marker, inside every password, through every endpoint that takes a password,
 * successes and failures alike, and then looks for it everywhere Rekey writes: the log, every
 * response, and every value of every table. Only argon2 hashes may stand for a password, and the
 * marker cannot appear inside one.
 */
describe.each(dialects)('password canary on %s', (dialect) => {
  let rekey: TestRekey;
  const marker = randomBytes(8).toString('hex');
  /** A distinct, policy-compliant password carrying the marker. */
  const canary = (n: number) => `Canary-${marker}-Zq${n}!`;
  const exchanges: Exchange[] = [];

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
  });
  afterAll(async () => rekey?.close());

  async function send(
    label: string,
    options: {
      method: 'GET' | 'POST' | 'PATCH';
      url: string;
      payload?: string | object;
      headers?: Record<string, string>;
    },
  ) {
    const response = await rekey.app.inject(options);
    exchanges.push({ label, status: response.statusCode, headers: response.headers, body: response.body });
    return response;
  }

  const signIn = (label: string, username: string, password: string) =>
    send(label, tokenRequestOptions(passwordGrant(username, password)));

  async function tokenOf(label: string, username: string, password: string): Promise<string> {
    const response = await signIn(label, username, password);
    expect(response.statusCode, `${label}: ${response.body}`).toBe(200);
    return response.json<{ access_token: string }>().access_token;
  }

  async function dumpDatabase(): Promise<Map<string, Array<Record<string, unknown>>>> {
    const tables =
      dialect === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
            rekey.db.kysely,
          )
        : await sql<{ name: string }>`select table_name as name from information_schema.tables
            where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(rekey.db.kysely);
    const dump = new Map<string, Array<Record<string, unknown>>>();
    for (const { name } of tables.rows) {
      // This one test reads every table, secrets tables included: that is the point.
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(
        rekey.db.kysely,
      );
      dump.set(name, rows.rows);
    }
    return dump;
  }

  it('never writes a password to a log, a response or a database column', async () => {
    const admin = await rekey.adminToken();
    const adminAuth = bearer(admin);

    // User creation: the API and the service.
    const created = await send('create user', {
      method: 'POST',
      url: '/v1.0/users',
      payload: {
        accountEnabled: true,
        displayName: 'Pat Songbird',
        mailNickname: 'pat.songbird',
        userPrincipalName: 'pat.songbird@example.com',
        passwordProfile: { password: canary(1), forceChangePasswordNextSignIn: false },
      },
      headers: adminAuth,
    });
    expect(created.statusCode, created.body).toBe(201);
    const userId = created.json<{ id: string }>().id;
    const weakCreate = await send('create user, weak password', {
      method: 'POST',
      url: '/v1.0/users',
      payload: {
        accountEnabled: true,
        displayName: 'Pat Weakling',
        mailNickname: 'pat.weakling',
        userPrincipalName: 'pat.weakling@example.com',
        passwordProfile: { password: `canary${marker}` },
      },
      headers: adminAuth,
    });
    expect(weakCreate.statusCode).toBe(400);
    const second = await rekey.createUser('pat.second', canary(2));

    // Token endpoint: success, wrong password, unknown user.
    let token = await tokenOf('sign-in', 'pat.songbird@example.com', canary(1));
    expect((await signIn('wrong password', 'pat.songbird@example.com', canary(9))).statusCode).toBe(400);
    expect((await signIn('unknown user', 'nobody@example.com', canary(9))).statusCode).toBe(400);

    // Self-service change: wrong current, weak new, same as current, then success.
    const change = (label: string, currentPassword: string, newPassword: string) =>
      send(label, {
        method: 'POST',
        url: '/v1.0/me/changePassword',
        payload: { currentPassword, newPassword },
        headers: bearer(token),
      });
    expect((await change('change, wrong current', canary(8), canary(3))).statusCode).toBe(400);
    expect((await change('change, weak new', canary(1), `canary${marker}`)).statusCode).toBe(400);
    expect((await change('change, same as current', canary(1), canary(1))).statusCode).toBe(400);
    expect((await change('change, contains name', canary(1), `Songbird-${marker}-Zq1!`)).statusCode).toBe(
      400,
    );
    const changed = await change('change', canary(1), canary(3));
    expect(changed.statusCode, changed.body).toBe(204);
    token = await tokenOf('sign-in after change', 'pat.songbird@example.com', canary(3));

    // Malformed and refused bodies that carry a password.
    const raw = (label: string, payload: string, contentType = 'application/json') =>
      send(label, {
        method: 'POST',
        url: '/v1.0/me/changePassword',
        payload,
        headers: { ...bearer(token), 'content-type': contentType },
      });
    expect((await raw('malformed JSON', `{"currentPassword":"${canary(3)}",`)).statusCode).toBe(400);
    expect(
      (await raw('extra field', JSON.stringify({ currentPassword: canary(3), note: canary(4) }))).statusCode,
    ).toBe(400);
    expect(
      (await raw('form body', `currentPassword=${canary(3)}`, 'application/x-www-form-urlencoded'))
        .statusCode,
    ).toBe(415);
    expect(
      (await raw('too large', JSON.stringify({ currentPassword: canary(3).repeat(3000) }))).statusCode,
    ).toBe(413);

    // Admin reset with a password, then the forced change at /{tenant}/password/change.
    const reset = await send('reset', {
      method: 'POST',
      url: `/v1.0/users/${userId}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword: canary(5) },
      headers: adminAuth,
    });
    expect(reset.statusCode, reset.body).toBe(202);
    const weakReset = await send('reset, weak', {
      method: 'POST',
      url: `/v1.0/users/${userId}/authentication/methods/${passwordMethodId}/resetPassword`,
      payload: { newPassword: `canary${marker}` },
      headers: adminAuth,
    });
    expect(weakReset.statusCode).toBe(400);
    expect(await rekey.operations.runDueOperations()).toBe(1);
    expect((await signIn('forced change pending', 'pat.songbird@example.com', canary(5))).statusCode).toBe(
      400,
    );
    const expired = (
      label: string,
      userPrincipalName: string,
      currentPassword: string,
      newPassword: string,
    ) =>
      send(label, {
        method: 'POST',
        url: '/example.com/password/change',
        payload: { userPrincipalName, currentPassword, newPassword },
      });
    expect(
      (await expired('expired, wrong current', 'pat.songbird@example.com', canary(7), canary(6))).statusCode,
    ).toBe(400);
    expect(
      (await expired('expired, unknown user', 'ghost@example.com', canary(7), canary(6))).statusCode,
    ).toBe(400);
    expect((await expired('expired, weak', 'pat.songbird@example.com', canary(5), 'weak')).statusCode).toBe(
      400,
    );
    const done = await expired('expired change', 'pat.songbird@example.com', canary(5), canary(6));
    expect(done.statusCode, done.body).toBe(204);
    await tokenOf('sign-in after expired change', 'pat.songbird@example.com', canary(6));

    // PATCH /users/{id} with a password (an immediate admin reset).
    const patched = await send('patch password', {
      method: 'PATCH',
      url: `/v1.0/users/${second.id}`,
      payload: { passwordProfile: { password: canary(10), forceChangePasswordNextSignIn: false } },
      headers: adminAuth,
    });
    expect(patched.statusCode, patched.body).toBe(204);
    await tokenOf('sign-in after patch', second.userPrincipalName, canary(10));

    // The policy dry run: a passing and a failing password, and one compared with the history.
    const evaluate = (label: string, payload: object) =>
      send(label, { method: 'POST', url: '/rekey/v1/passwordPolicy/evaluate', payload, headers: adminAuth });
    const passing = await evaluate('evaluate', { password: canary(11), userId });
    expect(passing.statusCode, passing.body).toBe(200);
    expect(passing.json()).toMatchObject({ valid: true });
    const failing = await evaluate('evaluate, weak', {
      password: `canary${marker}`,
      userPrincipalName: 'pat.songbird@example.com',
    });
    expect(failing.json()).toMatchObject({ valid: false });
    // An older password (the current one is never compared), within a history of three.
    const deeper = await send('history depth', {
      method: 'PATCH',
      url: '/rekey/v1/settings/passwordPolicy',
      payload: { historyCountOnChange: 3 },
      headers: adminAuth,
    });
    expect(deeper.statusCode, deeper.body).toBe(200);
    const history = await evaluate('evaluate, history', { password: canary(5), userId, checkHistory: true });
    expect(history.json()).toMatchObject({ valid: false, failures: [{ rule: 'history' }] });

    // Let every asynchronous write land before looking.
    await rekey.operations.runDueOperations();

    // 1. Responses: bodies and headers.
    for (const exchange of exchanges) {
      expect(exchange.body, exchange.label).not.toContain(marker);
      expect(JSON.stringify(exchange.headers), exchange.label).not.toContain(marker);
    }

    // 2. The log, at trace level.
    expect(rekey.logLines.length).toBeGreaterThan(50);
    const leakedLines = rekey.logLines.filter((line) => line.includes(marker));
    expect(leakedLines).toEqual([]);

    // 3. Every value of every table.
    const dump = await dumpDatabase();
    expect(dump.size).toBeGreaterThanOrEqual(12);
    const hashes = (dump.get('credentials') ?? []).map((row) => String(row['password_hash']));
    expect(hashes.length).toBeGreaterThanOrEqual(3);
    for (const hash of hashes) expect(hash).toMatch(/^\$argon2id\$v=19\$/);
    const columnsContaining = (needle: string): string[] => {
      const found = new Set<string>();
      for (const [table, rows] of dump) {
        for (const row of rows) {
          for (const [column, value] of Object.entries(row)) {
            const text = value instanceof Date ? value.toISOString() : String(value);
            if (text.includes(needle)) found.add(`${table}.${column}`);
          }
        }
      }
      return [...found].sort();
    };
    expect(columnsContaining(marker)).toEqual([]);
    // The same search does find what is stored: the UPN, in users and in the logs that name it.
    expect(columnsContaining('pat.songbird')).toEqual(
      expect.arrayContaining(['users.user_principal_name', 'sign_ins.user_principal_name']),
    );
  });
});
