import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { Codes } from '../platform/errors/catalog.js';
import type { ConnectorConfig, DirectoryProbe, DirectorySync, SyncRequest } from './directory-ports.js';

/*
 * /rekey/v1/connectors on both databases: the resource's life, every problem named at once, the
 * bind password sealed at rest and absent from every answer, log line and audit row, who may use
 * it, and test/sync through the directory ports (7700801 without them, the ports' reports with).
 */

const base = '/rekey/v1/connectors';
const password = 'Quartz-Lantern-Meadow-42!';
const bindPassword = 'Bind-Secret-Only-Sealed-7Q';
const newBindPassword = 'Rotated-Bind-Secret-9Z';

const body = {
  displayName: 'Head office',
  flavor: 'openldap',
  url: 'ldaps://ldap.example.com',
  bindDn: 'cn=rekey,ou=services,dc=example,dc=com',
  bindPassword,
  baseDn: 'ou=people,dc=example,dc=com',
  attributes: { userPrincipalName: 'mail' },
  writeback: true,
};

interface AuditRow {
  activity_display_name: string;
  target_resources: string;
  additional_details: string;
  initiated_by: string;
}

describe.each(dialects)('directory connectors on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  /** Every answer of this suite, to prove no bind password ever left in one. */
  const answers: string[] = [];

  async function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    token: string,
    payload?: unknown,
  ) {
    const response = await rekey.app.inject({
      method,
      url,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as Json }),
    });
    answers.push(response.body, JSON.stringify(response.headers));
    return response;
  }

  async function create(displayName: string): Promise<Json> {
    const response = await call('POST', base, admin, { ...body, displayName });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<Json>();
  }

  async function auditsFor(id: string): Promise<AuditRow[]> {
    return rekey.db.kysely
      .selectFrom('directory_audits')
      .innerJoin('directory_audit_targets', 'directory_audit_targets.audit_id', 'directory_audits.id')
      .select([
        'directory_audits.activity_display_name',
        'directory_audits.target_resources',
        'directory_audits.additional_details',
        'directory_audits.initiated_by',
      ])
      .where('directory_audit_targets.target_id', '=', id)
      .orderBy('directory_audits.activity_at')
      .execute();
  }

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { directories: {} });
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  it('creates a connector, shows it without its password, and lists and finds it', async () => {
    const response = await call('POST', base, admin, body);
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json<Json>();
    expect(response.headers['location']).toBe(`http://rekey.test${base}/${created['id']}`);
    expect(created).toMatchObject({
      displayName: 'Head office',
      flavor: 'openldap',
      url: 'ldaps://ldap.example.com',
      startTls: false,
      allowInsecure: false,
      caCertificate: null,
      bindPasswordSet: true,
      userFilter: '(objectClass=inetOrgPerson)',
      writeback: true,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 10000,
      syncIntervalSeconds: 3600,
      lastSyncDateTime: null,
      lastSyncResult: null,
      lastTestDateTime: null,
      lastTestResult: null,
    });
    expect(created).not.toHaveProperty('bindPassword');
    expect(created['attributes']).toMatchObject({
      userPrincipalName: 'mail',
      onPremisesImmutableId: 'entryUUID',
    });

    const id = String(created['id']);
    const one = await call('GET', `${base}/${id}`, admin);
    expect(one.json()).toEqual(created);
    // The CLI names connectors by display name; the API takes it too, in any case.
    expect((await call('GET', `${base}/${encodeURIComponent('HEAD OFFICE')}`, admin)).json()).toEqual(
      created,
    );
    const list = await call('GET', base, admin);
    expect(list.statusCode).toBe(200);
    expect(list.json<{ value: Json[] }>().value.map((c) => c['id'])).toContain(id);
    expectErrorCode(await call('GET', `${base}/nothing-here`, admin), 404, Codes.ResourceNotFound);

    const [audit] = await auditsFor(id);
    expect(audit?.activity_display_name).toBe('Add directory connector');
    const modified = (JSON.parse(audit?.target_resources ?? '[]') as Array<{ modifiedProperties: Json[] }>)[0]
      ?.modifiedProperties;
    expect(modified).toContainEqual({ displayName: 'bindPassword', oldValue: null, newValue: null });
    expect(modified).toContainEqual({
      displayName: 'url',
      oldValue: null,
      newValue: '"ldaps://ldap.example.com"',
    });
  });

  it('keeps the bind password only sealed with the secret key', async () => {
    const created = await create('Sealed');
    const row = await rekey.db.kysely
      .selectFrom('connectors')
      .selectAll()
      .where('id', '=', String(created['id']))
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(bindPassword);
    expect(row.bind_password_ciphertext).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    // It opens, with the secret key, to the password given.
    expect((await rekey.connectors.openConnectorConfig(String(created['id']))).bindPassword).toBe(
      bindPassword,
    );
  });

  it('changes the fields a PATCH gives, rotates the password, and audits what changed', async () => {
    const created = await create('Branch');
    const id = String(created['id']);
    const sealedBefore = await rekey.db.kysely
      .selectFrom('connectors')
      .select('bind_password_ciphertext')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const response = await call('PATCH', `${base}/${id}`, admin, {
      url: 'ldap://ldap.example.com:389',
      startTls: true,
      bindPassword: newBindPassword,
      attributes: { surname: null },
      syncIntervalSeconds: null,
    });
    expect(response.statusCode, response.body).toBe(200);
    const patched = response.json<Json>();
    expect(patched).toMatchObject({
      id,
      url: 'ldap://ldap.example.com:389',
      startTls: true,
      syncIntervalSeconds: null,
      bindPasswordSet: true,
      displayName: 'Branch',
    });
    expect(patched['attributes']).not.toHaveProperty('surname');
    expect(patched['lastModifiedDateTime']).toEqual(expect.any(String));
    const sealedAfter = await rekey.db.kysely
      .selectFrom('connectors')
      .select('bind_password_ciphertext')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(sealedAfter.bind_password_ciphertext).not.toBe(sealedBefore.bind_password_ciphertext);
    expect((await rekey.connectors.openConnectorConfig(id)).bindPassword).toBe(newBindPassword);

    const update = (await auditsFor(id)).find(
      (row) => row.activity_display_name === 'Update directory connector',
    );
    const modified = (
      JSON.parse(update?.target_resources ?? '[]') as Array<{ modifiedProperties: Json[] }>
    )[0]?.modifiedProperties;
    expect(modified?.map((property) => property['displayName']).sort()).toEqual(
      ['url', 'startTls', 'attributes', 'syncIntervalSeconds', 'bindPassword'].sort(),
    );
    expect(modified).toContainEqual({ displayName: 'bindPassword', oldValue: null, newValue: null });

    // A PATCH that leaves the result contradictory is refused whole, and changes nothing.
    const contradictory = await call('PATCH', `${base}/${id}`, admin, { url: 'ldaps://ldap.example.com' });
    const inner = expectErrorCode(contradictory, 400, Codes.RequestValidationFailed);
    expect(inner['details']).toEqual({
      fields: [
        { field: 'body/startTls', problem: expect.stringMatching(/must be false with an ldaps:\/\/ url/) },
      ],
    });
    expect((await call('GET', `${base}/${id}`, admin)).json<Json>()['url']).toBe(
      'ldap://ldap.example.com:389',
    );
  });

  it('names every problem of a bad configuration in one 400', async () => {
    const response = await call('POST', base, admin, {
      displayName: 'Broken',
      flavor: 'eDirectory',
      url: 'ldap://dc1.example.com',
      bindDn: 'rekey@example.com',
      bindPassword: '',
      baseDn: 'dc=example,,dc=com',
      userFilter: '(&(objectClass=user)',
      caCertificate: '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----',
      attributes: { userPrincipalName: 'user principal', favouriteColour: 'color' },
      writeback: true,
      operationTimeoutMs: 999_999,
    });
    const inner = expectErrorCode(response, 400, Codes.RequestValidationFailed);
    const fields = (inner['details'] as { fields: Array<{ field: string; problem: string }> }).fields;
    expect(fields.map((f) => f.field).sort()).toEqual(
      [
        'body/flavor',
        'body/url',
        'body/bindDn',
        'body/bindPassword',
        'body/baseDn',
        'body/userFilter',
        'body/caCertificate',
        'body/attributes/userPrincipalName',
        'body/attributes/favouriteColour',
        'body/operationTimeoutMs',
        // Writeback over a plain connection is its own problem beside the url's.
        'body/writeback',
      ].sort(),
    );
    const message = response.json<{ error: { message: string } }>().error.message;
    expect(message).toMatch(/^The connector was not created: /);
    expect(message).toContain('flavor must be one of: openldap, activeDirectory');
    expect(
      await rekey.db.kysely
        .selectFrom('connectors')
        .select('id')
        .where('display_name', '=', 'Broken')
        .execute(),
    ).toEqual([]);
  });

  it('refuses a second connector with the same display name, in any case', async () => {
    await create('Duplicate');
    const again = await call('POST', base, admin, { ...body, displayName: 'DUPLICATE' });
    expectErrorCode(again, 409, Codes.ObjectConflict);
    const other = await create('Not a duplicate');
    const renamed = await call('PATCH', `${base}/${String(other['id'])}`, admin, {
      displayName: 'duplicate',
    });
    expectErrorCode(renamed, 409, Codes.ObjectConflict);
  });

  it('deletes a connector, audited, and then knows it no more', async () => {
    const created = await create('Short-lived');
    const id = String(created['id']);
    const deleted = await call('DELETE', `${base}/${id}`, admin);
    expect(deleted.statusCode, deleted.body).toBe(204);
    expectErrorCode(await call('GET', `${base}/${id}`, admin), 404, Codes.ResourceNotFound);
    expectErrorCode(await call('DELETE', `${base}/${id}`, admin), 404, Codes.ResourceNotFound);
    expect((await auditsFor(id)).map((row) => row.activity_display_name)).toEqual([
      'Add directory connector',
      'Delete directory connector',
    ]);
  });

  it('answers test and sync with 7700801 while no directory client is installed', async () => {
    const created = await create('No client');
    const id = String(created['id']);
    for (const action of ['test', 'sync']) {
      const inner = expectErrorCode(
        await call('POST', `${base}/${id}/${action}`, admin),
        501,
        Codes.DirectoryClientUnavailable,
      );
      expect(inner).toBeDefined();
      expectErrorCode(
        await call('POST', `${base}/nothing-here/${action}`, admin),
        404,
        Codes.ResourceNotFound,
      );
    }
  });

  it('lets only Global and Hybrid Identity Administrators in', async () => {
    const created = await create('Guarded');
    const id = String(created['id']);
    const hybrid = await rekey.createUserWithToken('hybrid.admin', password, {
      roles: ['Hybrid Identity Administrator'],
    });
    expect((await call('GET', `${base}/${id}`, hybrid.token)).statusCode).toBe(200);
    expect((await call('GET', `${base}/${id}/health`, hybrid.token)).statusCode).toBe(200);
    const made = await call('POST', base, hybrid.token, { ...body, displayName: 'By the hybrid admin' });
    expect(made.statusCode, made.body).toBe(201);

    const refused: Array<[string, string]> = [];
    for (const [alias, roles] of [
      ['plain.user', []],
      ['global.reader', ['Global Reader']],
      ['user.admin', ['User Administrator']],
    ] as const) {
      const { token } = await rekey.createUserWithToken(alias, password, { roles: [...roles] });
      const attempts: Array<[string, LightMyRequestResponse]> = [
        ['POST', await call('POST', base, token, { ...body, displayName: `By ${alias}` })],
        ['GET', await call('GET', base, token)],
        ['GET one', await call('GET', `${base}/${id}`, token)],
        ['PATCH', await call('PATCH', `${base}/${id}`, token, { displayName: 'Taken over' })],
        ['DELETE', await call('DELETE', `${base}/${id}`, token)],
        ['test', await call('POST', `${base}/${id}/test`, token)],
        ['sync', await call('POST', `${base}/${id}/sync`, token)],
        ['health', await call('GET', `${base}/${id}/health`, token)],
      ];
      for (const [what, response] of attempts) {
        if (response.statusCode !== 403) refused.push([`${alias} ${what}`, String(response.statusCode)]);
        else expectErrorCode(response, 403, Codes.InsufficientPrivileges);
      }
    }
    expect(refused).toEqual([]);
    const anonymous = await rekey.app.inject({ method: 'GET', url: base });
    expectErrorCode(anonymous, 401, Codes.AuthenticationRequired);
    expect((await call('GET', `${base}/${id}`, admin)).json<Json>()['displayName']).toBe('Guarded');
  });

  it('describes every route, and the bodies it checks itself, in /openapi.json', async () => {
    const document = (await rekey.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Json }> } }>>;
    }>();
    const connectorPaths = Object.entries(document.paths)
      .filter(([path]) => path.startsWith(base))
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`));
    expect(connectorPaths.sort()).toEqual(
      [
        `post ${base}`,
        `get ${base}`,
        `get ${base}/{id}`,
        `patch ${base}/{id}`,
        `delete ${base}/{id}`,
        `post ${base}/{id}/test`,
        `post ${base}/{id}/sync`,
        `get ${base}/{id}/health`,
      ].sort(),
    );
    const create = document.paths[base]?.['post']?.requestBody?.content['application/json']?.schema;
    expect(create?.['required']).toEqual([
      'displayName',
      'flavor',
      'url',
      'bindDn',
      'bindPassword',
      'baseDn',
    ]);
    const patch = document.paths[`${base}/{id}`]?.['patch']?.requestBody?.content['application/json']?.schema;
    expect(Object.keys((patch?.['properties'] as Json | undefined) ?? {})).toContain('bindPassword');
  });

  it('never shows the bind password in an answer, a log line or an audit row', async () => {
    expect(answers.length).toBeGreaterThan(20);
    for (const secret of [bindPassword, newBindPassword]) {
      expect(answers.filter((answer) => answer.includes(secret))).toEqual([]);
      expect(rekey.logLines.filter((line) => line.includes(secret))).toEqual([]);
    }
    const audits = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['target_resources', 'additional_details', 'result_reason'])
      .execute();
    const auditText = JSON.stringify(audits);
    expect(auditText).toContain('Head office');
    expect(auditText).not.toContain(bindPassword);
    expect(auditText).not.toContain(newBindPassword);
  });
});

describe.each(dialects)('connector test and sync through the directory ports on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  const probed: ConnectorConfig[] = [];
  const syncs: SyncRequest[] = [];

  const probe: DirectoryProbe = {
    async test(config) {
      probed.push(config);
      return {
        steps: [
          {
            step: 'connect',
            result: 'success',
            code: null,
            message: 'Connected to ldap.example.com:636.',
            latencyMs: 3,
          },
          {
            step: 'startTls',
            result: 'skipped',
            code: null,
            message: 'ldaps:// is encrypted from the start.',
            latencyMs: null,
          },
          {
            step: 'bind',
            result: 'success',
            code: null,
            message: 'Bound as the service account.',
            latencyMs: 4.5,
          },
          {
            step: 'search',
            result: 'failure',
            code: Codes.ResourceNotFound,
            message: 'The base DN does not exist.',
            latencyMs: 1,
          },
        ],
        usersFound: null,
      };
    },
  };
  const sync: DirectorySync = {
    async sync(request) {
      syncs.push(request);
      return {
        result: 'success',
        mode: request.mode,
        startedDateTime: '2026-12-07T10:00:00.000Z',
        finishedDateTime: '2026-12-07T10:00:01.000Z',
        cursor: `cursor-${syncs.length}`,
        counts: { seen: 3, created: 2, updated: 1, deleted: 0, unchanged: 0, failed: 0 },
        code: null,
        message: null,
      };
    },
  };

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { directories: { probe, syncFor: () => sync } });
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  it('tests a connector step by step with its opened password, and keeps the report', async () => {
    const created = await rekey.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(admin),
      payload: body,
    });
    const id = created.json<Json>()['id'] as string;
    const response = await rekey.app.inject({
      method: 'POST',
      url: `${base}/${id}/test`,
      headers: bearer(admin),
    });
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json<Json>();
    expect(report).toMatchObject({ connectorId: id, success: false, usersFound: null });
    expect((report['steps'] as Json[]).map((step) => [step['step'], step['result'], step['code']])).toEqual([
      ['connect', 'success', null],
      ['startTls', 'skipped', null],
      ['bind', 'success', null],
      ['search', 'failure', Codes.ResourceNotFound],
    ]);
    expect(probed.at(-1)).toMatchObject({
      id,
      bindPassword,
      url: 'ldaps://ldap.example.com',
      writeback: true,
    });
    const shown = (
      await rekey.app.inject({ method: 'GET', url: `${base}/${id}`, headers: bearer(admin) })
    ).json<Json>();
    expect(shown['lastTestResult']).toEqual(report);
    expect(shown['lastTestDateTime']).toBe(report['testedDateTime']);
    expect(response.body).not.toContain(bindPassword);
  });

  it('syncs in full first, then from the cursor, and in full again when asked', async () => {
    const created = await rekey.app.inject({
      method: 'POST',
      url: base,
      headers: bearer(admin),
      payload: { ...body, displayName: 'Synced' },
    });
    const id = created.json<Json>()['id'] as string;
    const run = (query = '') =>
      rekey.app.inject({ method: 'POST', url: `${base}/${id}/sync${query}`, headers: bearer(admin) });
    const first = await run();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({
      connectorId: id,
      result: 'success',
      mode: 'full',
      startedDateTime: '2026-12-07T10:00:00.000Z',
      finishedDateTime: '2026-12-07T10:00:01.000Z',
      counts: { seen: 3, created: 2, updated: 1, deleted: 0, unchanged: 0, failed: 0 },
      code: null,
      message: null,
    });
    expect(syncs.at(-1)).toMatchObject({ mode: 'full', cursor: null, tenantId: rekey.tenant.id });
    expect(syncs.at(-1)?.connector.bindPassword).toBe(bindPassword);
    const second = await run();
    expect(second.json<Json>()['mode']).toBe('incremental');
    expect(syncs.at(-1)).toMatchObject({ mode: 'incremental', cursor: 'cursor-1' });
    await run('?full=true');
    expect(syncs.at(-1)).toMatchObject({ mode: 'full', cursor: null });
    const row = await rekey.db.kysely
      .selectFrom('connectors')
      .select(['last_sync_at', 'last_sync_cursor'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ last_sync_at: '2026-12-07T10:00:01.000Z', last_sync_cursor: 'cursor-3' });
    expectErrorCode(await run('?everything=true'), 400, Codes.RequestValidationFailed);
  });
});
