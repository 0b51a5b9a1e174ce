import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import {
  bearer,
  expectErrorCode,
  type Json,
  signInCodeOf,
  tokenRequestOptions,
} from '../../test/support/http-helpers.js';
import {
  adminUpn,
  cliClientId,
  passwordGrant,
  portalClientId,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import type { DirectoryRole } from '../roles/directory-roles.js';
import { insertSignIn, type NewSignIn } from './sign-in-store.js';

type SignInJson = Json & {
  id: string;
  createdDateTime: string;
  userPrincipalName: string;
  userId: string | null;
  appId: string;
  ipAddress: string;
  correlationId: string;
  status: { errorCode: number; failureReason: string | null; additionalDetails: string | null };
};
interface ListJson {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.count'?: number;
  value: SignInJson[];
}

const password = 'Lantern-Quarry-58-Vx!';
const readerRoles: readonly DirectoryRole[] = [
  'Global Reader',
  'Reports Reader',
  'Security Reader',
  'Security Operator',
  'Security Administrator',
];

/** Newest first, ties by id descending: the order the API promises without $orderby. */
function newestFirst(a: SignInJson, b: SignInJson): number {
  if (a.createdDateTime !== b.createdDateTime) return a.createdDateTime < b.createdDateTime ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A stored sign-in at `at`, for the rows the token endpoint cannot backdate. */
function storedSignIn(tenantId: string, at: string, extra: Partial<NewSignIn> = {}): NewSignIn {
  return {
    tenant_id: tenantId,
    created_at: at,
    user_id: null,
    user_principal_name: 'past.person@example.com',
    user_display_name: 'Past Person',
    app_id: cliClientId,
    app_display_name: 'Rekey CLI',
    client_app_used: 'Mobile Apps and Desktop clients',
    ip_address: '192.0.2.50',
    user_agent: null,
    correlation_id: `stored-${at}`,
    is_interactive: 0,
    error_code: 0,
    failure_reason: null,
    additional_details: null,
    ...extra,
  };
}

describe.each(dialects)('sign-in log API on %s', (dialect) => {
  let rekey: TestRekey;
  let reader: string;
  let alice: { id: string; userPrincipalName: string };
  let bob: { id: string; userPrincipalName: string };
  /** Every row of the log, read once all sign-ins below were made; the truth filters are checked against. */
  let all: SignInJson[];

  /** One password grant from `ip` with `correlationId`; returns its outcome (0 or the AADSTS code). */
  async function signInFrom(
    upn: string,
    pw: string,
    options: { ip: string; correlationId: string; clientId?: string },
  ): Promise<number> {
    const response = await rekey.app.inject({
      ...tokenRequestOptions(
        { ...passwordGrant(upn, pw), client_id: options.clientId ?? cliClientId },
        { 'client-request-id': options.correlationId },
      ),
      remoteAddress: options.ip,
    });
    return signInCodeOf(response);
  }

  /** A GET as the Reports Reader, as `token`, or (null) without a token. */
  function get(url: string, token?: string | null): Promise<LightMyRequestResponse> {
    const used = token === undefined ? reader : token;
    return rekey.app.inject({ method: 'GET', url, headers: used === null ? {} : bearer(used) });
  }

  /** The `details` of a Graph error of status `status` and code 7700007 (or `code`). */
  function detailsOf(response: LightMyRequestResponse, status = 400, code = 7700007): Json {
    return expectErrorCode(response, status, code)['details'] as Json;
  }

  async function list(url: string): Promise<ListJson> {
    const response = await get(url);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<ListJson>();
  }

  /** Follows @odata.nextLink from `url` to the end; every link must point back at this server. */
  async function readAll(url: string): Promise<SignInJson[]> {
    const rows: SignInJson[] = [];
    let next: string | undefined = url;
    while (next !== undefined) {
      const page: ListJson = await list(next);
      rows.push(...page.value);
      const link = page['@odata.nextLink'];
      if (link !== undefined) expect(link.startsWith('http://rekey.test/v1.0/auditLogs/signIns?')).toBe(true);
      next = link?.slice('http://rekey.test'.length);
    }
    return rows;
  }

  const filterUrl = (filter: string, extra = '') =>
    `/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(filter)}${extra}`;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    alice = await rekey.createUser('alice.log', password);
    bob = await rekey.createUser('bob.log', password);
    reader = (await rekey.createUserWithToken('reports.reader', password, { roles: ['Reports Reader'] }))
      .token;
    // Real sign-ins through the token endpoint, from known addresses and correlation IDs.
    expect(
      await signInFrom('alice.log@example.com', password, { ip: '10.1.0.1', correlationId: 'log-alice-ok' }),
    ).toBe(0);
    expect(
      await signInFrom('ALICE.LOG@example.com', 'not-her-password', {
        ip: '10.1.0.2',
        correlationId: 'log-alice-bad',
      }),
    ).toBe(50126);
    expect(
      await signInFrom('bob.log@example.com', password, {
        ip: '10.1.0.3',
        correlationId: 'log-bob-portal',
        clientId: portalClientId,
      }),
    ).toBe(0);
    // Answered as a wrong password (signInErrorDisclosure is uniform by default); the log keeps
    // the true reason, 50034 (below).
    expect(
      await signInFrom('nobody.log@example.com', password, { ip: '10.1.0.2', correlationId: 'log-nobody' }),
    ).toBe(50126);
    // Older rows at known times, for the time-range filters.
    for (const at of ['2024-03-01T08:00:00.000Z', '2024-03-02T08:00:00.000Z', '2024-03-03T08:00:00.000Z']) {
      await insertSignIn(rekey.db.kysely, storedSignIn(rekey.tenant.id, at, { error_code: 50053 }));
    }
    // A name beyond ASCII, for comparisons that ignore case in every script.
    await insertSignIn(
      rekey.db.kysely,
      storedSignIn(rekey.tenant.id, '2024-03-04T08:00:00.000Z', { user_display_name: 'ÉMILE Zola' }),
    );
    all = await readAll('/v1.0/auditLogs/signIns');
  });
  afterAll(async () => rekey?.close());

  it('lists sign-ins in Graph shape, newest first, with every property Graph returns', async () => {
    const page = await list('/v1.0/auditLogs/signIns');
    expect(page['@odata.context']).toBe('http://rekey.test/v1.0/$metadata#auditLogs/signIns');
    expect(page['@odata.nextLink']).toBeUndefined();
    expect(page['@odata.count']).toBeUndefined();
    // The reader's own sign-in, the four above, the four stored ones.
    expect(page.value).toHaveLength(9);
    expect(page.value).toEqual([...page.value].sort(newestFirst));
    expect(page.value.map((row) => row.createdDateTime).slice(-3)).toEqual([
      '2024-03-03T08:00:00.000Z',
      '2024-03-02T08:00:00.000Z',
      '2024-03-01T08:00:00.000Z',
    ]);
    const failed = page.value.find((row) => row.correlationId === 'log-alice-bad');
    expect(failed).toMatchObject({
      userPrincipalName: 'alice.log@example.com',
      userId: alice.id,
      userDisplayName: 'Test alice.log',
      appId: cliClientId,
      appDisplayName: 'Rekey CLI',
      ipAddress: '10.1.0.2',
      // A password grant is the user typing a password: interactive, as Rekey logs it.
      isInteractive: true,
      conditionalAccessStatus: 'notApplied',
      resourceId: '00000003-0000-0000-c000-000000000000',
      status: { errorCode: 50126 },
    });
    expect(failed?.status.failureReason).toEqual(expect.any(String));
    expect(Object.keys(failed ?? {})).toEqual([
      'id',
      'createdDateTime',
      'userDisplayName',
      'userPrincipalName',
      'userId',
      'appId',
      'appDisplayName',
      'ipAddress',
      'clientAppUsed',
      'userAgent',
      'correlationId',
      'conditionalAccessStatus',
      'isInteractive',
      'riskDetail',
      'riskLevelAggregated',
      'riskLevelDuringSignIn',
      'riskState',
      'riskEventTypes_v2',
      'resourceDisplayName',
      'resourceId',
      'status',
      'deviceDetail',
      'location',
      'appliedConditionalAccessPolicies',
    ]);
    const ok = page.value.find((row) => row.correlationId === 'log-alice-ok');
    expect(ok?.status).toEqual({ errorCode: 0, failureReason: null, additionalDetails: null });
    // An unknown account is logged under the name that was tried, with no user id.
    expect(page.value.find((row) => row.correlationId === 'log-nobody')).toMatchObject({
      userPrincipalName: 'nobody.log@example.com',
      userId: null,
      status: { errorCode: 50034 },
    });
  });

  // Each filter the issue names, checked against the whole log: the API must return exactly the
  // rows the predicate picks, in the default order, and the predicate must pick some but not all.
  const filters: ReadonlyArray<[string, () => string, (row: SignInJson) => boolean]> = [
    [
      'createdDateTime ge',
      () => 'createdDateTime ge 2024-03-02T08:00:00Z',
      (row) => row.createdDateTime >= '2024-03-02T08:00:00.000Z',
    ],
    [
      'createdDateTime le',
      () => 'createdDateTime le 2024-03-02T08:00:00Z',
      (row) => row.createdDateTime <= '2024-03-02T08:00:00.000Z',
    ],
    [
      'createdDateTime ge and le',
      () => 'createdDateTime ge 2024-03-01T12:00:00Z and createdDateTime le 2024-03-03T08:00:00.000Z',
      (row) =>
        row.createdDateTime >= '2024-03-01T12:00:00.000Z' &&
        row.createdDateTime <= '2024-03-03T08:00:00.000Z',
    ],
    [
      'userPrincipalName eq, ignoring case',
      () => "userPrincipalName eq 'Alice.Log@EXAMPLE.com'",
      (row) => row.userPrincipalName === 'alice.log@example.com',
    ],
    [
      'startswith(userPrincipalName), ignoring case',
      () => "startswith(userPrincipalName,'BOB.')",
      (row) => row.userPrincipalName.startsWith('bob.'),
    ],
    ['userId eq (quoted)', () => `userId eq '${alice.id}'`, (row) => row.userId === alice.id],
    ['userId eq null (names nobody has)', () => 'userId eq null', (row) => row.userId === null],
    [
      'userDisplayName eq, ignoring case beyond ASCII',
      () => "userDisplayName eq 'émile zola'",
      (row) => row['userDisplayName'] === 'ÉMILE Zola',
    ],
    [
      'startswith(userDisplayName), ignoring case beyond ASCII',
      () => "startswith(userDisplayName,'émi')",
      (row) => row['userDisplayName'] === 'ÉMILE Zola',
    ],
    ['userId eq (GUID literal)', () => `userId eq ${bob.id.toUpperCase()}`, (row) => row.userId === bob.id],
    ['appId eq', () => `appId eq '${portalClientId}'`, (row) => row.appId === portalClientId],
    ['ipAddress eq', () => "ipAddress eq '10.1.0.2'", (row) => row.ipAddress === '10.1.0.2'],
    [
      'correlationId eq',
      () => "correlationId eq 'log-bob-portal'",
      (row) => row.correlationId === 'log-bob-portal',
    ],
    ['status/errorCode eq', () => 'status/errorCode eq 50126', (row) => row.status.errorCode === 50126],
    ['status/errorCode ne', () => 'status/errorCode ne 0', (row) => row.status.errorCode !== 0],
    [
      'and / or combined',
      () =>
        "(userPrincipalName eq 'alice.log@example.com' or ipAddress eq '10.1.0.3') and status/errorCode eq 0",
      (row) =>
        (row.userPrincipalName === 'alice.log@example.com' || row.ipAddress === '10.1.0.3') &&
        row.status.errorCode === 0,
    ],
    [
      'or of an error code and a correlation ID',
      () => "status/errorCode eq 50053 or correlationId eq 'log-nobody'",
      (row) => row.status.errorCode === 50053 || row.correlationId === 'log-nobody',
    ],
  ];

  it.each(filters)('filters by %s', async (_name, filter, predicate) => {
    const expected = all.filter(predicate);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(all.length);
    const page = await list(filterUrl(filter()));
    expect(page.value.map((row) => row.id)).toEqual(expected.map((row) => row.id));
  });

  it('sorts oldest first on $orderby=createdDateTime asc, and refuses other sort properties', async () => {
    const page = await list('/v1.0/auditLogs/signIns?$orderby=createdDateTime%20asc');
    expect(page.value.map((row) => row.id)).toEqual([...all].reverse().map((row) => row.id));
    const refused = await get('/v1.0/auditLogs/signIns?$orderby=userPrincipalName');
    expectErrorCode(refused, 400, 7700007);
    expect(refused.json<{ error: { message: string } }>().error.message).toContain(
      'Sortable properties: createdDateTime.',
    );
  });

  it('refuses an unsupported property or operator with a 400 naming what is supported', async () => {
    const unknownProperty = await get(filterUrl("riskState eq 'none'"));
    expect(detailsOf(unknownProperty)['supportedProperties']).toEqual([
      'id',
      'createdDateTime',
      'userPrincipalName',
      'userDisplayName',
      'userId',
      'appId',
      'appDisplayName',
      'ipAddress',
      'clientAppUsed',
      'correlationId',
      'isInteractive',
      'status/errorCode',
    ]);
    expect(unknownProperty.json<{ error: { message: string } }>().error.message).toBe(
      "Unsupported $filter at position 0: the property 'riskState' cannot be used in $filter on signIns. Filterable properties: id, createdDateTime, userPrincipalName, userDisplayName, userId, appId, appDisplayName, ipAddress, clientAppUsed, correlationId, isInteractive, status/errorCode.",
    );

    const nested = await get(filterUrl("status/failureReason eq 'x'"));
    expectErrorCode(nested, 400, 7700007);
    expect(nested.json<{ error: { message: string } }>().error.message).toContain(
      "the property 'status/failureReason' cannot be used in $filter on signIns",
    );

    const operator = await get(filterUrl("userPrincipalName ne 'alice.log@example.com'"));
    expect(detailsOf(operator)['supportedOperators']).toEqual(['eq', 'startswith']);
    expect(operator.json<{ error: { message: string } }>().error.message).toBe(
      "Unsupported $filter at position 0: the operator 'ne' is not supported on 'userPrincipalName'. Supported operators: eq, startswith.",
    );

    const endsWith = await get(filterUrl("endswith(userPrincipalName,'example.com')"));
    expect(detailsOf(endsWith)['supportedOperators']).toEqual(['eq', 'startswith']);
    const errorCodeGe = await get(filterUrl('status/errorCode ge 50000'));
    expect(detailsOf(errorCodeGe)['supportedOperators']).toEqual(['eq', 'ne']);
    const wrongType = await get(filterUrl("status/errorCode eq '50126'"));
    expectErrorCode(wrongType, 400, 7700007);
    const syntax = await get(filterUrl('userPrincipalName eq'));
    expectErrorCode(syntax, 400, 7700007);
    const search = await get('/v1.0/auditLogs/signIns?$search=alice');
    expectErrorCode(search, 400, 7700007);
  });

  it('accepts $top up to 1000 and refuses 1001 and other bad values', async () => {
    expect((await list('/v1.0/auditLogs/signIns?$top=1000')).value).toHaveLength(all.length);
    for (const top of ['1001', '0', '-1', 'ten']) {
      const response = await get(`/v1.0/auditLogs/signIns?$top=${top}`);
      expect(detailsOf(response)['maxTop']).toBe(1000);
      expect(response.json<{ error: { message: string } }>().error.message).toBe(
        `The $top value '${top}' is not valid on signIns: use a whole number from 1 to 1000.`,
      );
    }
  });

  it('returns only the $select properties (and id), naming them in @odata.context', async () => {
    const page = await list(
      `${filterUrl("correlationId eq 'log-alice-bad'")}&$select=status,userPrincipalName,createdDateTime`,
    );
    expect(page['@odata.context']).toBe(
      'http://rekey.test/v1.0/$metadata#auditLogs/signIns(id,createdDateTime,userPrincipalName,status)',
    );
    expect(page.value).toHaveLength(1);
    expect(Object.keys(page.value[0] ?? {})).toEqual([
      'id',
      'createdDateTime',
      'userPrincipalName',
      'status',
    ]);
    const unknown = await get('/v1.0/auditLogs/signIns?$select=password');
    expect(detailsOf(unknown)['property']).toBe('password');
  });

  it('counts with $count=true on the first page only, and pages with @odata.nextLink', async () => {
    const first = await list(`${filterUrl('status/errorCode ne 0')}&$count=true&$top=2`);
    const failures = all.filter((row) => row.status.errorCode !== 0);
    expect(failures.length).toBeGreaterThan(2);
    expect(first['@odata.count']).toBe(failures.length);
    expect(first.value.map((row) => row.id)).toEqual(failures.slice(0, 2).map((row) => row.id));
    const link = first['@odata.nextLink'];
    expect(link).toContain('$skiptoken=');
    expect(link).toContain('$count=true');
    expect(link).toContain('$top=2');
    const second = await list((link ?? '').slice('http://rekey.test'.length));
    expect(second['@odata.count']).toBeUndefined();
    expect(second.value.map((row) => row.id)).toEqual(failures.slice(2, 4).map((row) => row.id));
    const chained = await readAll(`${filterUrl('status/errorCode ne 0')}&$top=2`);
    expect(chained.map((row) => row.id)).toEqual(failures.map((row) => row.id));
    const tampered = await get(`/v1.0/auditLogs/signIns?$skiptoken=bm90LWEtdG9rZW4`);
    expectErrorCode(tampered, 400, 7700007);
  });

  it('pages correctly while new sign-ins arrive: no repeat, no gap, the new rows only on a fresh first page', async () => {
    const before = await readAll('/v1.0/auditLogs/signIns');
    const first = await list('/v1.0/auditLogs/signIns?$top=3');
    // New sign-ins after page 1 was read, through the token endpoint and written directly.
    expect(
      await signInFrom('alice.log@example.com', password, { ip: '10.1.0.9', correlationId: 'log-new-1' }),
    ).toBe(0);
    expect(
      await signInFrom('bob.log@example.com', 'wrong', { ip: '10.1.0.9', correlationId: 'log-new-2' }),
    ).toBe(50126);
    const stored = await insertSignIn(
      rekey.db.kysely,
      storedSignIn(rekey.tenant.id, new Date().toISOString(), { correlation_id: 'log-new-3' }),
    );
    const rest = await readAll((first['@odata.nextLink'] ?? '').slice('http://rekey.test'.length));
    const seen = [...first.value, ...rest].map((row) => row.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(before.map((row) => row.id));
    expect(seen).not.toContain(stored);
    const fresh = await list('/v1.0/auditLogs/signIns?$top=3');
    expect(fresh.value.map((row) => row.correlationId).sort()).toEqual([
      'log-new-1',
      'log-new-2',
      'log-new-3',
    ]);
    all = await readAll('/v1.0/auditLogs/signIns');
  });

  it('gets one sign-in by id, with $select, and answers 404 for an unknown id', async () => {
    const target = all.find((row) => row.correlationId === 'log-alice-bad');
    const response = await get(`/v1.0/auditLogs/signIns/${target?.id}`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#auditLogs/signIns/$entity',
      ...target,
    });
    const selected = await get(`/v1.0/auditLogs/signIns/${target?.id}?$select=status`);
    expect(selected.json()).toEqual({
      '@odata.context': 'http://rekey.test/v1.0/$metadata#auditLogs/signIns(id,status)/$entity',
      id: target?.id,
      status: target?.status,
    });
    for (const id of ['0190d6f4-0000-7000-8000-000000000000', 'not-an-id']) {
      expectErrorCode(await get(`/v1.0/auditLogs/signIns/${id}`), 404, 7700008);
    }
  });

  it('serves 1000 rows per page by default, the most $top allows', async () => {
    const older = Array.from({ length: 1001 }, (_, i) =>
      storedSignIn(rekey.tenant.id, new Date(Date.UTC(2023, 0, 1) + i * 1000).toISOString()),
    );
    // One multi-row insert: the volume matters here, not the insert path (tested above).
    await rekey.db.kysely
      .insertInto('sign_ins')
      .values(
        older.map((row, i) => ({
          ...row,
          id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
          upn_key: row.user_principal_name,
        })),
      )
      .execute();
    const first = await list('/v1.0/auditLogs/signIns');
    expect(first.value).toHaveLength(1000);
    const link = first['@odata.nextLink'];
    expect(link).toBeDefined();
    const second = await list((link ?? '').slice('http://rekey.test'.length));
    expect(second['@odata.nextLink']).toBeUndefined();
    expect(second.value).toHaveLength(all.length + 1001 - 1000);
    expect(second.value.at(-1)?.createdDateTime).toBe('2023-01-01T00:00:00.000Z');
  });

  it('needs a token (401) and a log reader role (403); every reader role may read', async () => {
    expectErrorCode(await get('/v1.0/auditLogs/signIns', null), 401, 7700101);
    expectErrorCode(await get('/v1.0/auditLogs/signIns', 'not.a.token'), 401, 7700102);
    for (const role of ['User Administrator', 'Helpdesk Administrator'] as const) {
      const user = await rekey.createUserWithToken(`no.logs.${role.split(' ')[0]?.toLowerCase()}`, password, {
        roles: [role],
      });
      const refused = await get('/v1.0/auditLogs/signIns', user.token);
      expect(detailsOf(refused, 403, 7700103)['requiredRoles']).toEqual([
        'Global Administrator',
        'Global Reader',
        'Reports Reader',
        'Security Reader',
        'Security Operator',
        'Security Administrator',
      ]);
      expectErrorCode(await get(`/v1.0/auditLogs/signIns/${all[0]?.id}`, user.token), 403, 7700103);
    }
    const plain = await rekey.signIn('alice.log@example.com', password);
    expectErrorCode(await get('/v1.0/auditLogs/signIns', plain), 403, 7700103);
    for (const role of readerRoles) {
      const user = await rekey.createUserWithToken(
        `logs.${role.replaceAll(' ', '.').toLowerCase()}`,
        password,
        {
          roles: [role],
        },
      );
      expect((await get('/v1.0/auditLogs/signIns?$top=1', user.token)).statusCode).toBe(200);
      // The reader roles show on the user object, as any directory role does.
      const shown = await get(`/v1.0/users/${user.id}?$select=directoryRoles`, await rekey.adminToken());
      expect(shown.json<Json>()['directoryRoles']).toEqual([role]);
    }
    expect((await get('/v1.0/auditLogs/signIns?$top=1', await rekey.adminToken())).statusCode).toBe(200);
    const own = await get(filterUrl(`userPrincipalName eq '${adminUpn}'`), await rekey.adminToken());
    expect(own.json<ListJson>().value.length).toBeGreaterThan(0);
  });
});
