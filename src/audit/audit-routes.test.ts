import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import { adminUpn, startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { systemContext } from '../platform/request-context.js';
import { recordAudit } from './audit-service.js';

interface AuditJson {
  id: string;
  activityDateTime: string;
  activityDisplayName: string;
  category: string;
  correlationId: string;
  result: string;
  resultReason: string;
  loggedByService: string;
  operationType: string;
  initiatedBy: {
    user: { id: string; userPrincipalName: string; displayName: string; ipAddress: string } | null;
    app: { appId: string | null; displayName: string };
  };
  targetResources: Array<{ id: string; type: string; userPrincipalName: string | null }>;
  additionalDetails: Array<{ key: string; value: string }>;
}
interface ListJson {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.count'?: number;
  value: AuditJson[];
}

const password = 'Harbor-Violet-74-Qm!';
const base = 'http://rekey.test';

/** Newest first, ties by id descending: the order the API promises without $orderby. */
function newestFirst(a: AuditJson, b: AuditJson): number {
  if (a.activityDateTime !== b.activityDateTime) return a.activityDateTime < b.activityDateTime ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

describe.each(dialects)('directory audit API on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let adminId: string;
  let reader: string;
  let carol: { id: string; userPrincipalName: string };
  /** Every audit row, read once the actions below were done. */
  let all: AuditJson[];

  function send(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    token: string | null,
    options: { payload?: Json; correlationId?: string } = {},
  ): Promise<LightMyRequestResponse> {
    return rekey.app.inject({
      method,
      url,
      headers: {
        ...(token === null ? {} : bearer(token)),
        ...(options.correlationId ? { 'client-request-id': options.correlationId } : {}),
      },
      ...(options.payload ? { payload: options.payload } : {}),
    });
  }

  const get = (url: string, token: string | null = reader) => send('GET', url, token);

  function detailsOf(response: LightMyRequestResponse, status = 400, code = 7700007): Json {
    return expectErrorCode(response, status, code)['details'] as Json;
  }

  async function list(url: string): Promise<ListJson> {
    const response = await get(url);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<ListJson>();
  }

  async function readAll(url: string): Promise<AuditJson[]> {
    const rows: AuditJson[] = [];
    let next: string | undefined = url;
    while (next !== undefined) {
      const page: ListJson = await list(next);
      rows.push(...page.value);
      next = page['@odata.nextLink']?.slice(base.length);
    }
    return rows;
  }

  const filterUrl = (filter: string, extra = '') =>
    `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(filter)}${extra}`;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    admin = await rekey.adminToken();
    adminId = (await send('GET', '/v1.0/me', admin)).json<{ id: string }>().id;
    reader = (await rekey.createUserWithToken('audit.reader', password, { roles: ['Security Reader'] }))
      .token;

    // Real administrative and password actions, each under its own correlation ID.
    const created = await send('POST', '/v1.0/users', admin, {
      correlationId: 'aud-create',
      payload: {
        accountEnabled: true,
        displayName: 'Carol Audit',
        mailNickname: 'carol.audit',
        userPrincipalName: 'Carol.Audit@example.com',
        passwordProfile: { password, forceChangePasswordNextSignIn: false },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    carol = { id: created.json<{ id: string }>().id, userPrincipalName: 'Carol.Audit@example.com' };
    const carolToken = await rekey.signIn(carol.userPrincipalName, password);
    const badChange = await send('POST', '/v1.0/me/changePassword', carolToken, {
      correlationId: 'aud-change-bad',
      payload: { currentPassword: 'not-the-password', newPassword: 'Copper-Tundra-91-Lk!' },
    });
    expect(badChange.statusCode, badChange.body).toBe(400);
    const change = await send('POST', '/v1.0/me/changePassword', carolToken, {
      correlationId: 'aud-change-ok',
      payload: { currentPassword: password, newPassword: 'Copper-Tundra-91-Lk!' },
    });
    expect(change.statusCode, change.body).toBe(204);
    const rename = await send('PATCH', `/v1.0/users/${carol.id}`, admin, {
      correlationId: 'aud-rename',
      payload: { displayName: 'Carol Audited' },
    });
    expect(rename.statusCode, rename.body).toBe(204);
    const policy = await send('PATCH', '/rekey/v1/settings/passwordPolicy', admin, {
      correlationId: 'aud-policy',
      payload: { minLength: 10 },
    });
    expect(policy.statusCode, policy.body).toBe(200);
    // Older rows at known times, for the time-range filters.
    for (const [day, activity] of [
      ['01', 'disableAccount'],
      ['02', 'enableAccount'],
      ['03', 'resetPasswordByAdmin'],
    ] as const) {
      await recordAudit(
        rekey.db.kysely,
        rekey.tenant.id,
        systemContext(`aud-past-${day}`),
        {
          activity,
          result: 'success',
          targets: [{ id: `past-target-${day}`, displayName: null, userPrincipalName: null }],
        },
        `2024-03-${day}T08:00:00.000Z`,
      );
    }
    all = await readAll('/v1.0/auditLogs/directoryAudits');
  });
  afterAll(async () => rekey?.close());

  it('lists audit events in Graph shape, newest first', async () => {
    const page = await list('/v1.0/auditLogs/directoryAudits');
    expect(page['@odata.context']).toBe(`${base}/v1.0/$metadata#auditLogs/directoryAudits`);
    expect(page.value).toEqual([...page.value].sort(newestFirst));
    expect(page.value.map((row) => row.activityDateTime).slice(-3)).toEqual([
      '2024-03-03T08:00:00.000Z',
      '2024-03-02T08:00:00.000Z',
      '2024-03-01T08:00:00.000Z',
    ]);
    const added = page.value.filter((row) => row.correlationId === 'aud-create');
    const addUser = added.find((row) => row.activityDisplayName === 'Add user');
    expect(addUser).toMatchObject({
      category: 'UserManagement',
      result: 'success',
      resultReason: '',
      loggedByService: 'Core Directory',
      operationType: 'Add',
      initiatedBy: {
        user: { id: adminId, userPrincipalName: adminUpn, ipAddress: '127.0.0.1' },
        app: { appId: '2a0f5c8e-6b1d-4e7a-9c3f-8d4b1e6a7f20', displayName: 'Rekey CLI' },
      },
      targetResources: [
        {
          id: carol.id,
          type: 'User',
          userPrincipalName: carol.userPrincipalName,
          displayName: 'Carol Audit',
          modifiedProperties: [],
        },
      ],
      additionalDetails: [],
    });
    expect(Object.keys(addUser ?? {})).toEqual([
      'id',
      'category',
      'correlationId',
      'result',
      'resultReason',
      'activityDisplayName',
      'activityDateTime',
      'loggedByService',
      'operationType',
      'initiatedBy',
      'targetResources',
      'additionalDetails',
    ]);
  });

  const filters: ReadonlyArray<[string, () => string, (row: AuditJson) => boolean]> = [
    [
      'activityDateTime ge',
      () => 'activityDateTime ge 2024-03-02T08:00:00Z',
      (row) => row.activityDateTime >= '2024-03-02T08:00:00.000Z',
    ],
    [
      'activityDateTime le',
      () => 'activityDateTime le 2024-03-02T08:00:00Z',
      (row) => row.activityDateTime <= '2024-03-02T08:00:00.000Z',
    ],
    [
      'activityDateTime ge and le',
      () => 'activityDateTime ge 2024-03-01T09:00:00Z and activityDateTime le 2024-03-03T08:00:00Z',
      (row) =>
        row.activityDateTime >= '2024-03-01T09:00:00.000Z' &&
        row.activityDateTime <= '2024-03-03T08:00:00.000Z',
    ],
    [
      'activityDisplayName eq, ignoring case',
      () => "activityDisplayName eq 'add USER'",
      (row) => row.activityDisplayName === 'Add user',
    ],
    [
      'startswith(activityDisplayName)',
      () => "startswith(activityDisplayName,'Change password')",
      (row) => row.activityDisplayName.startsWith('Change password'),
    ],
    ['category eq', () => "category eq 'Policy'", (row) => row.category === 'Policy'],
    ['correlationId eq', () => "correlationId eq 'aud-rename'", (row) => row.correlationId === 'aud-rename'],
    [
      'id eq, in upper case',
      () => `id eq '${(all[0]?.id ?? '').toUpperCase()}'`,
      (row) => row.id === all[0]?.id,
    ],
    ['result eq', () => "result eq 'failure'", (row) => row.result === 'failure'],
    [
      'initiatedBy/user/id eq',
      () => `initiatedBy/user/id eq '${adminId}'`,
      (row) => row.initiatedBy.user?.id === adminId,
    ],
    [
      'initiatedBy/user/userPrincipalName eq, ignoring case',
      () => "initiatedBy/user/userPrincipalName eq 'carol.audit@EXAMPLE.com'",
      (row) => row.initiatedBy.user?.userPrincipalName === carol.userPrincipalName,
    ],
    [
      'startswith(initiatedBy/user/userPrincipalName)',
      () => "startswith(initiatedBy/user/userPrincipalName,'admin@')",
      (row) => row.initiatedBy.user?.userPrincipalName === adminUpn,
    ],
    [
      'initiatedBy/user/id eq null (Rekey itself)',
      () => 'initiatedBy/user/id eq null',
      (row) => row.initiatedBy.user === null,
    ],
    [
      'targetResources/any(t: t/id eq ...)',
      () => `targetResources/any(t: t/id eq '${carol.id}')`,
      (row) => row.targetResources.some((target) => target.id === carol.id),
    ],
    [
      'targetResources/any with or inside',
      () => "targetResources/any(t: t/id eq 'past-target-01' or t/id eq 'passwordPolicy')",
      (row) => row.targetResources.some((target) => ['past-target-01', 'passwordPolicy'].includes(target.id)),
    ],
    [
      'and / or combined',
      () =>
        `targetResources/any(t: t/id eq '${carol.id}') and (result eq 'failure' or activityDisplayName eq 'Update user')`,
      (row) =>
        row.targetResources.some((target) => target.id === carol.id) &&
        (row.result === 'failure' || row.activityDisplayName === 'Update user'),
    ],
  ];

  it.each(filters)('filters by %s', async (_name, filter, predicate) => {
    const expected = all.filter(predicate);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    const page = await list(filterUrl(filter()));
    expect(page.value.map((row) => row.id)).toEqual(expected.map((row) => row.id));
  });

  it('records the product actions above as Graph expects them', async () => {
    const failure = (await list(filterUrl("correlationId eq 'aud-change-bad'"))).value;
    expect(failure).toEqual([
      expect.objectContaining({
        activityDisplayName: 'Change password (self-service)',
        result: 'failure',
        resultReason: expect.stringMatching(/^AADSTS120000: /),
        initiatedBy: expect.objectContaining({
          user: expect.objectContaining({ id: carol.id }),
        }),
      }),
    ]);
    const policy = (await list(filterUrl("correlationId eq 'aud-policy'"))).value;
    expect(policy).toEqual([
      expect.objectContaining({
        activityDisplayName: 'Update password policy',
        category: 'Policy',
        targetResources: [
          expect.objectContaining({
            id: 'passwordPolicy',
            modifiedProperties: [expect.objectContaining({ displayName: 'minLength', newValue: '10' })],
          }),
        ],
      }),
    ]);
  });

  it('sorts oldest first on $orderby=activityDateTime asc, and refuses other sort properties', async () => {
    const page = await list('/v1.0/auditLogs/directoryAudits?$orderby=activityDateTime%20asc');
    expect(page.value.map((row) => row.id)).toEqual([...all].reverse().map((row) => row.id));
    const refused = await get('/v1.0/auditLogs/directoryAudits?$orderby=category');
    expect(detailsOf(refused)['supportedProperties']).toEqual(['activityDateTime']);
  });

  it('refuses unsupported properties, operators and lambdas with a 400 naming what is supported', async () => {
    const property = await get(filterUrl("resultReason eq ''"));
    expect(detailsOf(property)['supportedProperties']).toEqual([
      'id',
      'activityDateTime',
      'activityDisplayName',
      'category',
      'correlationId',
      'loggedByService',
      'operationType',
      'result',
      'initiatedBy/user/id',
      'initiatedBy/user/userPrincipalName',
      'initiatedBy/app/appId',
    ]);
    expect(property.json<{ error: { message: string } }>().error.message).toMatch(
      /^Unsupported \$filter at position 0: the property 'resultReason' cannot be used in \$filter on directoryAudits\. Filterable properties: id, activityDateTime, /,
    );
    const operator = await get(filterUrl("startswith(category,'User')"));
    expect(detailsOf(operator)['supportedOperators']).toEqual(['eq']);
    expect(operator.json<{ error: { message: string } }>().error.message).toBe(
      "Unsupported $filter at position 11: the operator 'startswith' is not supported on 'category'. Supported operators: eq.",
    );
    const element = await get(filterUrl("targetResources/any(t: t/displayName eq 'Carol')"));
    const elementDetails = detailsOf(element);
    expect(elementDetails['supportedProperties']).toEqual(['id']);
    expect(element.json<{ error: { message: string } }>().error.message).toContain(
      'on targetResources elements. Filterable properties: id.',
    );
    const collection = await get(filterUrl("additionalDetails/any(d: d/key eq 'x')"));
    expect(detailsOf(collection)['supportedCollections']).toEqual(['targetResources']);
    const bare = await get(filterUrl("targetResources eq 'x'"));
    expect(bare.json<{ error: { message: string } }>().error.message).toContain(
      "'targetResources' is a collection; test its elements with targetResources/any(x: ...)",
    );
    const top = await get('/v1.0/auditLogs/directoryAudits?$top=1001');
    expect(detailsOf(top)['maxTop']).toBe(1000);
  });

  it('supports $select, $count on the first page and an exact @odata.nextLink chain', async () => {
    const selected = await list(
      `${filterUrl("correlationId eq 'aud-rename'")}&$select=activityDisplayName,result`,
    );
    expect(selected['@odata.context']).toBe(
      `${base}/v1.0/$metadata#auditLogs/directoryAudits(id,result,activityDisplayName)`,
    );
    expect(selected.value.map((row) => Object.keys(row))).toEqual([['id', 'result', 'activityDisplayName']]);

    const first = await list('/v1.0/auditLogs/directoryAudits?$count=true&$top=2');
    expect(first['@odata.count']).toBe(all.length);
    expect(first.value.map((row) => row.id)).toEqual(all.slice(0, 2).map((row) => row.id));
    const second = await list((first['@odata.nextLink'] ?? '').slice(base.length));
    expect(second['@odata.count']).toBeUndefined();
    const chained = await readAll('/v1.0/auditLogs/directoryAudits?$top=2');
    expect(chained.map((row) => row.id)).toEqual(all.map((row) => row.id));
  });

  it('pages correctly while new audit rows arrive', async () => {
    const before = await readAll('/v1.0/auditLogs/directoryAudits');
    const first = await list('/v1.0/auditLogs/directoryAudits?$top=2');
    const renamed = await send('PATCH', `/v1.0/users/${carol.id}`, admin, {
      correlationId: 'aud-new',
      payload: { jobTitle: 'Auditor' },
    });
    expect(renamed.statusCode, renamed.body).toBe(204);
    const rest = await readAll((first['@odata.nextLink'] ?? '').slice(base.length));
    const seen = [...first.value, ...rest].map((row) => row.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before.map((row) => row.id));
    expect([...first.value, ...rest].some((row) => row.correlationId === 'aud-new')).toBe(false);
    expect((await list('/v1.0/auditLogs/directoryAudits?$top=1')).value[0]?.correlationId).toBe('aud-new');
  });

  it('gets one audit event by id, and answers 404 for an unknown id', async () => {
    const target = all.find((row) => row.correlationId === 'aud-rename');
    const response = await get(`/v1.0/auditLogs/directoryAudits/${target?.id}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      '@odata.context': `${base}/v1.0/$metadata#auditLogs/directoryAudits/$entity`,
      ...target,
    });
    expectErrorCode(
      await get('/v1.0/auditLogs/directoryAudits/0190d6f4-0000-7000-8000-000000000000'),
      404,
      7700008,
    );
  });

  it('needs a token (401) and a log reader role (403)', async () => {
    expectErrorCode(await get('/v1.0/auditLogs/directoryAudits', null), 401, 7700101);
    const userAdmin = await rekey.createUserWithToken('audit.useradmin', password, {
      roles: ['User Administrator'],
    });
    const refused = await get('/v1.0/auditLogs/directoryAudits', userAdmin.token);
    expect(detailsOf(refused, 403, 7700103)['requiredRoles']).toContain('Reports Reader');
    expectErrorCode(
      await get(`/v1.0/auditLogs/directoryAudits/${all[0]?.id}`, userAdmin.token),
      403,
      7700103,
    );
    expect((await get('/v1.0/auditLogs/directoryAudits?$top=1', admin)).statusCode).toBe(200);
  });
});
