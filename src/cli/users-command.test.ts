import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type CliTestRekey,
  runRekeyCli,
  startCliTestRekey,
} from '../../test/support/cli-run.js';
import { dialects } from '../../test/support/databases.js';
import { aadstsCodeOf, bearer, type Json } from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  answerSignInsAsEntra,
  type TestRekey,
} from '../../test/support/rekey-harness.js';

describe.each(dialects)('rekey users on %s', (dialect) => {
  let rekey: TestRekey;
  let started: CliTestRekey | undefined;
  let env: Record<string, string>;
  const outputs: string[] = [];

  beforeAll(async () => {
    started = await startCliTestRekey(dialect);
    ({ rekey, env } = started);
    // These tests read Entra's codes (50034, 50053) from the answers; the uniform default has its own tests.
    await answerSignInsAsEntra(rekey);
  });
  afterAll(async () => {
    await started?.close();
  });

  async function cli(...args: string[]): Promise<CliRun> {
    const run = await runRekeyCli(env, args);
    outputs.push(run.out, run.err);
    return run;
  }

  async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
    const run = await cli(...args, '--json');
    expect(run.code, run.err).toBe(0);
    return JSON.parse(run.out) as T;
  }

  function expectFailure(run: CliRun, code: number, name: string): void {
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n')[0]).toMatch(new RegExp(`^error ${code} ${name}: `));
  }

  it('explains itself with --help at every level', async () => {
    const users = await cli('users', '--help');
    expect(users.code).toBe(0);
    for (const sub of [
      'list',
      'get',
      'create',
      'set-password',
      'unlock',
      'disable',
      'enable',
      'delete',
      'restore',
      'roles',
    ]) {
      expect(users.out).toContain(sub);
    }
    const create = await cli('users', 'create', '--help');
    expect(create.code).toBe(0);
    expect(create.out).toContain('--generate-password');
    expect(create.out).toContain('--no-force-change');
    expect(create.out).toContain('--role <name>');
    const roles = await cli('users', 'roles', '--help');
    expect(roles.out).toContain('--add <role>');
    expect(roles.out).toContain('--remove <role>');
    expect((await cli('users', 'set-password', '--help')).out).toContain('--generate');
  });

  it('creates a user who must change the password at the first sign-in', async () => {
    const created = await json<{ id: string; userPrincipalName: string; accountEnabled: boolean }>(
      'users',
      'create',
      '--upn',
      'cli.ada@example.com',
      '--display-name',
      'Ada Cli',
      '--password',
      'Orchid-River-3-Tq!',
      '--given-name',
      'Ada',
      '--job-title',
      'Engineer',
      '--usage-location',
      'se',
    );
    expect(created).toMatchObject({ userPrincipalName: 'cli.ada@example.com', accountEnabled: true });
    expect(await rekey.signInCode('cli.ada@example.com', 'Orchid-River-3-Tq!')).toBe(50055);
    const shown = await json(
      'users',
      'get',
      'cli.ada@example.com',
      '--select',
      'jobTitle,usageLocation,mailNickname',
    );
    expect(shown).toEqual({
      id: created.id,
      jobTitle: 'Engineer',
      mailNickname: 'cli.ada',
      usageLocation: 'SE',
    });
  });

  it('creates with a generated password (printed once) and with --no-force-change', async () => {
    const run = await cli(
      'users',
      'create',
      '--upn',
      'cli.gen@example.com',
      '--display-name',
      'Gen Cli',
      '--generate-password',
    );
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^Created cli\.gen@example\.com \([0-9a-f-]{36}\)\./);
    const password = /Password \(shown only now\): (\S+)/.exec(run.out)?.[1];
    expect(password).toBeTypeOf('string');
    expect(await rekey.signInCode('cli.gen@example.com', password ?? '')).toBe(50055);

    const free = await cli(
      'users',
      'create',
      '--upn',
      'cli.free@example.com',
      '--display-name',
      'Free Cli',
      '--password',
      'Orchid-River-4-Tq!',
      '--no-force-change',
    );
    expect(free.code, free.err).toBe(0);
    expect(await rekey.signInCode('cli.free@example.com', 'Orchid-River-4-Tq!')).toBe(0);
  });

  it('reports bad input as catalog errors with exit status 1', async () => {
    expectFailure(
      await cli('users', 'create', '--password', 'Orchid-River-3-Tq!'),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli(
        'users',
        'create',
        '--upn',
        'bad*name@example.com',
        '--display-name',
        'X',
        '--password',
        'Orchid-River-3-Tq!',
      ),
      7700009,
      'InvalidUserPrincipalName',
    );
    expectFailure(
      await cli(
        'users',
        'create',
        '--upn',
        'cli.ada@example.com',
        '--display-name',
        'X',
        '--password',
        'Orchid-River-3-Tq!',
      ),
      7700010,
      'ObjectConflict',
    );
    expectFailure(
      await cli(
        'users',
        'create',
        '--upn',
        'x1@example.com',
        '--display-name',
        'X',
        '--password',
        'Orchid-River-3-Tq!',
        '--usage-location',
        'SWE',
      ),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli(
        'users',
        'create',
        '--upn',
        'x2@example.com',
        '--display-name',
        'X',
        '--password',
        'P',
        '--generate-password',
      ),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli('users', 'create', '--upn', 'x3@example.com', '--display-name', 'X', '--password', 'weak'),
      120002,
      'PasswordChangeInvalidNewPasswordWeak',
    );
    expectFailure(await cli('users', 'get', 'nobody@example.com'), 7700008, 'ResourceNotFound');
    expectFailure(await cli('users', 'get', adminUpn, '--select', 'shoeSize'), 7700007, 'InvalidQueryOption');
    expectFailure(await cli('users', 'list', '--top', 'many'), 7700001, 'RequestValidationFailed');
    expectFailure(await cli('users', 'list', '--filter', 'displayName eq'), 7700007, 'InvalidQueryOption');

    const asJson = await cli('users', 'get', 'nobody@example.com', '--json');
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.err)).toMatchObject({ error: { code: 7700008, name: 'ResourceNotFound' } });
  });

  it('lists users as a table, as JSON, filtered, ordered and limited', async () => {
    for (const [alias, name] of [
      ['cli.list.b', 'Listed Bravo'],
      ['cli.list.a', 'Listed Alpha'],
      ['cli.list.c', 'Listed Charlie'],
    ] as const) {
      await rekey.createUser(alias, 'Quiet-Harbor-7!', { displayName: name });
    }
    const table = await cli(
      'users',
      'list',
      '--filter',
      "startswith(displayName,'Listed')",
      '--orderby',
      'displayName desc',
    );
    expect(table.code, table.err).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^displayName\s+userPrincipalName\s+accountEnabled\s+id$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/)[0])).toEqual([
      'Listed Charlie',
      'Listed Bravo',
      'Listed Alpha',
    ]);
    expect(lines[1]).toMatch(/cli\.list\.c@example\.com\s+true\s+[0-9a-f-]{36}$/);

    const all = await json<Array<{ userPrincipalName: string }>>('users', 'list');
    expect(all.map((u) => u.userPrincipalName)).toContain(adminUpn);
    const limited = await json<unknown[]>('users', 'list', '--top', '2');
    expect(limited).toHaveLength(2);
    const selected = await json<Array<Record<string, unknown>>>(
      'users',
      'list',
      '--filter',
      "userPrincipalName eq 'cli.list.a@example.com'",
      '--select',
      'mail,userType',
    );
    expect(selected).toEqual([{ id: expect.any(String), mail: null, userType: 'Member' }]);
    const none = await cli('users', 'list', '--filter', "startswith(displayName,'Nobody Has This')");
    expect(none.out).toBe('No users match.');
  });

  it("speaks of the options typed and the commands to run, not of the API's fields and requests", async () => {
    const badUpn = await cli(
      'users',
      'create',
      '--upn',
      'bad name@example.com',
      '--display-name',
      'Bad Name',
      '--generate-password',
    );
    expectFailure(badUpn, 7700001, 'RequestValidationFailed');
    expect(badUpn.err.split('\n')[0]).toBe(
      'error 7700001 RequestValidationFailed: --upn: the part before the @ (the mail nickname, unless --mail-nickname is given) must not contain spaces or any of @ ( ) [ ] " ; : < > ,.',
    );
    expect(badUpn.err).toContain(
      'what to do: Correct the option named above and run the command again; `rekey users create --help` lists the options and their values.',
    );
    const badNickname = await cli(
      'users',
      'create',
      '--upn',
      'nick@example.com',
      '--mail-nickname',
      'nick name',
      '--display-name',
      'Nick',
      '--usage-location',
      'XYZ',
      '--generate-password',
    );
    expectFailure(badNickname, 7700001, 'RequestValidationFailed');
    expect(badNickname.err).toContain('--mail-nickname must not contain spaces');
    expect(badNickname.err).toContain('--usage-location must be a two-letter country code');
    const missing = await cli('users', 'get', 'nobody.here@example.com');
    expectFailure(missing, 7700008, 'ResourceNotFound');
    expect(missing.err).toContain('`rekey users list --deleted` lists deleted users');
    for (const run of [badUpn, badNickname, missing]) {
      expect(run.err).not.toMatch(/body\/|must match pattern|anyOf|send the request|directory\/deletedItems/);
    }
    // Nothing was created.
    expect((await cli('users', 'get', 'nick@example.com')).code).toBe(1);
  });

  it('shows, by default, the columns `users list --help` names, in that order', async () => {
    const help = (await cli('users', 'list', '--help')).out.replace(/\s+/g, ' ');
    const named =
      /\(default: ([A-Za-z,]+), and deletedDateTime with --deleted\); the id is always shown, last/.exec(
        help,
      )?.[1];
    expect(named).toBeDefined();
    const header = (await cli('users', 'list')).out.split('\n')[0]?.split(/\s+/);
    expect(header).toEqual([...(named ?? '').split(','), 'id']);
    await rekey.createUser('cli.columns', 'Quiet-Harbor-7!');
    expect((await cli('users', 'delete', 'cli.columns@example.com')).code).toBe(0);
    const deleted = (await cli('users', 'list', '--deleted')).out.split('\n')[0]?.split(/\s+/);
    expect(deleted).toEqual([...(named ?? '').split(','), 'deletedDateTime', 'id']);
  });

  it('shows one user as key: value lines', async () => {
    const run = await cli(
      'users',
      'get',
      'cli.list.a@example.com',
      '--select',
      'accountEnabled,passwordPolicies',
    );
    expect(run.code).toBe(0);
    expect(run.out.split('\n')).toEqual([
      expect.stringMatching(/^id: [0-9a-f-]{36}$/),
      'accountEnabled: true',
      'passwordPolicies: None',
    ]);
    const full = await cli('users', 'get', 'cli.list.a@example.com');
    expect(full.out).toContain('userPrincipalName: cli.list.a@example.com');
    expect(full.out).toContain('passwordProfile: {"forceChangePasswordNextSignIn":false');
  });

  it('set-password resets through the operations service before returning', async () => {
    const user = await rekey.createUserWithToken('cli.reset', 'Quiet-Harbor-7!');
    const result = await json<Record<string, unknown>>(
      'users',
      'set-password',
      'cli.reset@example.com',
      '--password',
      'Copper-Meadow-41-Zx!',
    );
    expect(result).toMatchObject({
      id: user.id,
      userPrincipalName: 'cli.reset@example.com',
      status: 'succeeded',
      forceChangePasswordNextSignIn: true,
    });
    expect(result).not.toHaveProperty('generatedPassword');
    expect(await rekey.signInCode('cli.reset@example.com', 'Copper-Meadow-41-Zx!')).toBe(50055);
    expect(await rekey.signInCode('cli.reset@example.com', 'Quiet-Harbor-7!')).toBe(50126);
    const me = await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(user.token) });
    expect(aadstsCodeOf(me)).toBe(50133);
    const operation = await rekey.db.kysely
      .selectFrom('password_operations')
      .select(['kind', 'state', 'secret_ciphertext'])
      .where('id', '=', String(result['operationId']))
      .executeTakeFirstOrThrow();
    expect(operation).toEqual({ kind: 'adminReset', state: 'succeeded', secret_ciphertext: null });

    const generated = await cli('users', 'set-password', 'cli.reset@example.com', '--no-force-change');
    expect(generated.code, generated.err).toBe(0);
    const password = /Password \(shown only now\): (\S+)/.exec(generated.out)?.[1] ?? '';
    expect(await rekey.signInCode('cli.reset@example.com', password)).toBe(0);

    expectFailure(
      await cli('users', 'set-password', 'cli.reset@example.com', '--password', 'weak'),
      120002,
      'PasswordChangeInvalidNewPasswordWeak',
    );
    expect(await rekey.signInCode('cli.reset@example.com', password)).toBe(0);
    expectFailure(
      await cli('users', 'set-password', 'ghost@example.com', '--generate'),
      7700008,
      'ResourceNotFound',
    );
  });

  it('disables (revoking sessions), enables, deletes and restores', async () => {
    const { token } = await rekey.createUserWithToken('cli.life', 'Quiet-Harbor-7!');
    const disabled = await cli('users', 'disable', 'cli.life@example.com');
    expect(disabled.out).toBe('Disabled cli.life@example.com; every session of the user was revoked.');
    expect(await rekey.signInCode('cli.life@example.com', 'Quiet-Harbor-7!')).toBe(50057);
    const me = await rekey.app.inject({ method: 'GET', url: '/v1.0/me', headers: bearer(token) });
    expect(aadstsCodeOf(me)).toBe(50057);
    expect(await json('users', 'enable', 'cli.life@example.com')).toMatchObject({ accountEnabled: true });
    expect(await rekey.signInCode('cli.life@example.com', 'Quiet-Harbor-7!')).toBe(0);

    const deleted = await json<{ id: string; deletedDateTime: string }>(
      'users',
      'delete',
      'cli.life@example.com',
    );
    expect(deleted.deletedDateTime).toMatch(/^\d{4}-/);
    expect(await rekey.signInCode('cli.life@example.com', 'Quiet-Harbor-7!')).toBe(50034);
    expectFailure(await cli('users', 'get', 'cli.life@example.com'), 7700008, 'ResourceNotFound');
    const deletedList = await json<Array<{ id: string }>>('users', 'list', '--deleted');
    expect(deletedList.map((u) => u.id)).toContain(deleted.id);

    const restored = await cli('users', 'restore', deleted.id);
    expect(restored.out).toBe(`Restored cli.life@example.com (${deleted.id}).`);
    expect(await rekey.signInCode('cli.life@example.com', 'Quiet-Harbor-7!')).toBe(0);
    expectFailure(await cli('users', 'restore', deleted.id), 7700008, 'ResourceNotFound');
  });

  it('shows the smart lockout state in `users get` and ends it with `users unlock`, audited', async () => {
    const user = await rekey.createUser('cli.locked', 'Quiet-Harbor-7!');
    for (let i = 0; i < 10; i += 1) await rekey.signInCode('cli.locked@example.com', `Wrong-Cli-${i}!`);
    expect(await rekey.signInCode('cli.locked@example.com', 'Quiet-Harbor-7!')).toBe(50053);

    const shown = await cli('users', 'get', 'cli.locked@example.com');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain('lockout: locked (threshold 10, first lockout 60 s)');
    expect(shown.out).toMatch(/lockout\.unfamiliar: locked until \S+; 10 failures, 1 lockouts in a row/);
    expect(shown.out).toContain('lockout.familiar: not locked; 0 failures');
    const asJson = await json<{ userPrincipalName: string; lockout: Record<string, unknown> }>(
      'users',
      'get',
      'cli.locked@example.com',
    );
    expect(asJson.userPrincipalName).toBe('cli.locked@example.com');
    expect(asJson.lockout).toMatchObject({ userId: user.id, locked: true, lockoutThreshold: 10 });
    // --select shows only what was asked for.
    expect(await json('users', 'get', 'cli.locked@example.com', '--select', 'accountEnabled')).toEqual({
      id: user.id,
      accountEnabled: true,
    });

    const unlocked = await cli('users', 'unlock', 'cli.locked@example.com');
    expect(unlocked.code, unlocked.err).toBe(0);
    expect(unlocked.out).toContain(
      'Unlocked cli.locked@example.com: every lock ended and the failure counts restarted.',
    );
    expect(unlocked.out).toContain('lockout: not locked');
    expect(await rekey.signInCode('cli.locked@example.com', 'Quiet-Harbor-7!')).toBe(0);
    const audit = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'initiated_by', 'additional_details'])
      .where('activity_display_name', '=', 'Unlock user account')
      .where('target_resources', 'like', `%${user.id}%`)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(audit.initiated_by)).toEqual({
      user: null,
      app: { appId: null, displayName: 'Rekey' },
    });
    expect(audit.additional_details).toContain('unfamiliar networks were locked until');

    expect(await json('users', 'unlock', 'cli.locked@example.com')).toMatchObject({ locked: false });
    // Not locked any more: the command says so and writes no second audit row.
    const again = await cli('users', 'unlock', 'cli.locked@example.com');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain(
      'cli.locked@example.com is not locked; nothing was changed and nothing audited.',
    );
    expect(await json('users', 'unlock', 'cli.locked@example.com')).toMatchObject({
      locked: false,
      unlocked: false,
    });
    const unlockAudits = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select('id')
      .where('activity_display_name', '=', 'Unlock user account')
      .where('target_resources', 'like', `%${user.id}%`)
      .execute();
    expect(unlockAudits).toHaveLength(1);
    expectFailure(await cli('users', 'unlock', 'ghost@example.com'), 7700008, 'ResourceNotFound');
  });

  it('will not disable or delete the last Global Administrator', async () => {
    expectFailure(await cli('users', 'disable', adminUpn), 7700106, 'LastGlobalAdministrator');
    expectFailure(await cli('users', 'delete', adminUpn), 7700106, 'LastGlobalAdministrator');
    expectFailure(
      await cli('users', 'roles', adminUpn, '--remove', 'global administrator'),
      7700106,
      'LastGlobalAdministrator',
    );
    expect(await json('users', 'roles', adminUpn)).toMatchObject({
      roles: [{ role: 'Global Administrator' }],
    });
    expect(await rekey.signInCode(adminUpn, adminPassword)).toBe(0);
  });

  /** The audit rows of one activity on one user, newest first, read through the Graph API. */
  async function auditsOn(targetId: string, activity: string): Promise<Json[]> {
    const filter = `targetResources/any(t: t/id eq '${targetId}') and activityDisplayName eq '${activity}'`;
    const response = await rekey.app.inject({
      method: 'GET',
      url: `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(filter)}`,
      headers: bearer(await rekey.adminToken()),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ value: Json[] }>().value;
  }

  it('lists, adds and removes directory roles by name, idempotently, audited as Rekey', async () => {
    const rosaPassword = 'Orchid-River-5-Tq!';
    const rosa = await rekey.createUserWithToken('cli.rosa', rosaPassword);
    const signIns = () =>
      rekey.app.inject({ method: 'GET', url: '/v1.0/auditLogs/signIns', headers: bearer(rosa.token) });
    expect((await cli('users', 'roles', 'cli.rosa@example.com')).out).toBe(
      'cli.rosa@example.com holds no directory role.',
    );
    expect(aadstsCodeOf(await signIns())).toBe(7700103);

    const added = await json(
      'users',
      'roles',
      'CLI.Rosa@example.com',
      '--add',
      'reports reader',
      '--add',
      'GLOBAL READER',
    );
    expect(added).toEqual({
      id: rosa.id,
      userPrincipalName: 'cli.rosa@example.com',
      added: ['Reports Reader', 'Global Reader'],
      removed: [],
      roles: [
        {
          role: 'Reports Reader',
          roleDefinitionId: '4a5d8f65-41da-4de4-8968-e035b65339cf',
          assignmentId: expect.stringMatching(/^[A-Za-z0-9_-]{43}-1$/),
        },
        {
          role: 'Global Reader',
          roleDefinitionId: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
          assignmentId: expect.stringMatching(/^[A-Za-z0-9_-]{43}-1$/),
        },
      ],
    });
    // The token the user already had now reads the log: roles are read on every request.
    expect((await signIns()).statusCode).toBe(200);

    const table = await cli('users', 'roles', rosa.id);
    expect(table.code, table.err).toBe(0);
    const lines = table.out.split('\n');
    expect(lines[0]).toMatch(/^role\s+roleDefinitionId\s+assignmentId$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/)[0])).toEqual([
      'Reports Reader',
      'Global Reader',
    ]);

    const again = await cli('users', 'roles', 'cli.rosa@example.com', '--add', 'Reports Reader');
    expect(again.code, again.err).toBe(0);
    expect(again.out.split('\n')[0]).toBe('cli.rosa@example.com already holds Reports Reader.');

    const removed = await cli(
      'users',
      'roles',
      'cli.rosa@example.com',
      '--remove',
      'Reports Reader',
      '--remove',
      'global reader',
    );
    expect(removed.code, removed.err).toBe(0);
    expect(removed.out).toBe(
      [
        'Removed Reports Reader from cli.rosa@example.com.',
        'Removed Global Reader from cli.rosa@example.com.',
        'cli.rosa@example.com holds no directory role.',
      ].join('\n'),
    );
    expect(aadstsCodeOf(await signIns())).toBe(7700103);
    const notHeld = await cli('users', 'roles', 'cli.rosa@example.com', '--remove', 'Reports Reader');
    expect(notHeld.out.split('\n')[0]).toBe('cli.rosa@example.com does not hold Reports Reader.');

    // Two adds and two removes, each once (the repeated ones changed nothing), all by Rekey itself.
    const adds = await auditsOn(rosa.id, 'Add member to role');
    const removes = await auditsOn(rosa.id, 'Remove member from role');
    expect(adds).toHaveLength(2);
    expect(removes).toHaveLength(2);
    for (const row of [...adds, ...removes]) {
      expect(row).toMatchObject({
        category: 'RoleManagement',
        loggedByService: 'Core Directory',
        result: 'success',
        initiatedBy: { user: null, app: { appId: null, displayName: 'Rekey' } },
      });
    }
  });

  it('creates users with --role (repeatable, any case) and refuses unknown role names, naming the valid ones', async () => {
    const created = await json<{ id: string; directoryRoles: string[] }>(
      'users',
      'create',
      '--upn',
      'cli.rolf@example.com',
      '--display-name',
      'Rolf Cli',
      '--password',
      'Orchid-River-6-Tq!',
      '--role',
      'security reader',
      '--role',
      'Reports Reader',
      '--role',
      'SECURITY READER',
    );
    expect(created.directoryRoles).toEqual(['Security Reader', 'Reports Reader']);
    const [addUser] = await auditsOn(created.id, 'Add user');
    const roleRows = await auditsOn(created.id, 'Add member to role');
    expect(roleRows.map((row) => row['correlationId'])).toEqual([
      addUser?.['correlationId'],
      addUser?.['correlationId'],
    ]);

    const unknown = await cli(
      'users',
      'create',
      '--upn',
      'cli.nobody@example.com',
      '--display-name',
      'Nobody',
      '--password',
      'Orchid-River-7-Tq!',
      '--role',
      'Report Reader',
    );
    expectFailure(unknown, 7700001, 'RequestValidationFailed');
    expect(unknown.err).toContain("'Report Reader' is not a directory role Rekey knows.");
    expect(unknown.err).toContain('Valid roles: Global Administrator, Privileged Role Administrator,');
    expectFailure(await cli('users', 'get', 'cli.nobody@example.com'), 7700008, 'ResourceNotFound');

    expectFailure(
      await cli('users', 'roles', 'cli.rolf@example.com', '--add', 'Nope'),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(
      await cli(
        'users',
        'roles',
        'cli.rolf@example.com',
        '--add',
        'Global Reader',
        '--remove',
        'global reader',
      ),
      7700001,
      'RequestValidationFailed',
    );
    expectFailure(await cli('users', 'roles', 'ghost@example.com'), 7700008, 'ResourceNotFound');
    expect(await json('users', 'roles', 'cli.rolf@example.com')).toMatchObject({
      roles: [{ role: 'Security Reader' }, { role: 'Reports Reader' }],
    });
  });

  it('assigns the roles of the reset and sensitive-action rules by name', async () => {
    const ruth = await rekey.createUser('cli.ruth', 'Quiet-Harbor-7!');
    const names = [
      'Password Administrator',
      'Directory Readers',
      'Guest Inviter',
      'Groups Administrator',
      'Message Center Reader',
      'User Experience Success Manager',
      'Usage Summary Reports Reader',
    ];
    const added = await json<{ added: string[] }>(
      'users',
      'roles',
      ruth.userPrincipalName,
      ...names.flatMap((name) => ['--add', name.toLowerCase()]),
    );
    expect(added.added).toEqual(names);
    expect((await rekey.users.listRoleHolders({ userId: ruth.id }))[0]?.roles).toEqual(names);
  });

  it('refuses a database that Rekey has not prepared', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'rekey-cli-empty-'));
    const saved = env;
    env = { ...env, REKEY_DATABASE_URL: `sqlite:${path.join(fresh, 'empty.sqlite')}`, REKEY_DATA_DIR: fresh };
    try {
      expectFailure(await cli('users', 'list'), 7700202, 'DatabaseUnavailable');
    } finally {
      env = saved;
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('never prints a password hash', () => {
    for (const text of outputs) {
      expect(text).not.toContain('$argon2id$');
      expect(text).not.toContain('password_hash');
      expect(text).not.toContain('passwordHash');
    }
  });
});

describe('rekey users with bad settings', () => {
  it('lists every bad setting and exits 2, as every command does, before opening a database', async () => {
    const run = await runRekeyCli({ REKEY_DATABASE_URL: 'mysql://db/rekey' }, ['users', 'list']);
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    expect(run.err).toContain('Rekey cannot start; fix these settings:');
    expect(run.err).toContain('REKEY_DATABASE_URL must start with postgres://');
  });
});
