import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json, signInCodeOf } from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  answerSignInsAsEntra,
  cliClientId,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { toGraphDirectoryAudit } from '../audit/audit-mapper.js';
import { listAuditsByCorrelation } from '../audit/audit-store.js';
import { systemContext } from '../platform/request-context.js';

type UserJson = Json & { id: string; displayName: string; userPrincipalName: string };

/** The first target resource of an audit event in Graph's shape. */
function firstTarget(audit: Json | undefined): Json | undefined {
  const targets = audit?.['targetResources'];
  return Array.isArray(targets) ? (targets[0] as Json | undefined) : undefined;
}

/** Every response body any test here received; checked for secrets once the suite ends. */
const bodies: string[] = [];

describe.each(dialects)('Graph users API on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;

  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    // These tests read Entra's codes (50034, 50053) from the answers; the uniform default has its own tests.
    await answerSignInsAsEntra(rekey);
    admin = await rekey.adminToken();
  });
  afterAll(async () => rekey?.close());

  async function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    token: string | undefined,
    payload?: Json,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const response = await rekey.app.inject({
      method,
      url,
      headers: { ...(token ? bearer(token) : {}), ...headers },
      ...(payload ? { payload } : {}),
    });
    bodies.push(response.body);
    return response;
  }

  /** The sign-in result of a password grant (see signInCodeOf), its body kept for the secrets check. */
  async function signInCode(upn: string, password: string): Promise<number> {
    const response = await rekey.tokenRequest(passwordGrant(upn, password));
    bodies.push(response.body);
    return signInCodeOf(response);
  }

  function createBody(alias: string, extra: Json = {}): Json {
    return {
      accountEnabled: true,
      displayName: `Person ${alias}`,
      mailNickname: alias,
      userPrincipalName: `${alias}@example.com`,
      passwordProfile: { password: 'Orchid-River-3-Tq!', forceChangePasswordNextSignIn: false },
      ...extra,
    };
  }

  async function createViaApi(alias: string, extra: Json = {}): Promise<UserJson> {
    const response = await call('POST', '/v1.0/users', admin, createBody(alias, extra));
    expect(response.statusCode, response.body).toBe(201);
    return response.json<UserJson>();
  }

  async function auditsOf(correlationId: string) {
    const rows = await listAuditsByCorrelation(rekey.db.kysely, rekey.tenant.id, correlationId);
    return rows.map(toGraphDirectoryAudit);
  }

  describe('POST /v1.0/users', () => {
    it('creates a user, returns 201 with the default properties and the user can sign in', async () => {
      const response = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('create.one', {
          givenName: 'Ada',
          surname: 'Lovelace',
          jobTitle: 'Engineer',
          mail: 'ada@example.com',
          usageLocation: 'gb',
          passwordPolicies: 'DisablePasswordExpiration',
        }),
        { 'client-request-id': `create-one-${dialect}` },
      );
      expect(response.statusCode).toBe(201);
      const body = response.json<UserJson>();
      expect(body['@odata.context']).toBe('http://rekey.test/v1.0/$metadata#users/$entity');
      expect(Object.keys(body).sort()).toEqual(
        [
          '@odata.context',
          'id',
          'businessPhones',
          'displayName',
          'givenName',
          'jobTitle',
          'mail',
          'mobilePhone',
          'officeLocation',
          'preferredLanguage',
          'surname',
          'userPrincipalName',
        ].sort(),
      );
      expect(body).toMatchObject({
        displayName: 'Person create.one',
        givenName: 'Ada',
        surname: 'Lovelace',
        jobTitle: 'Engineer',
        mail: 'ada@example.com',
        userPrincipalName: 'create.one@example.com',
      });
      expect(response.headers['location']).toBe(`http://rekey.test/v1.0/users/${body.id}`);
      const selected = (
        await call(
          'GET',
          `/v1.0/users/${body.id}?$select=usageLocation,passwordPolicies,accountEnabled`,
          admin,
        )
      ).json();
      expect(selected).toMatchObject({
        usageLocation: 'GB',
        passwordPolicies: 'DisablePasswordExpiration',
        accountEnabled: true,
      });
      expect(await signInCode('create.one@example.com', 'Orchid-River-3-Tq!')).toBe(0);
      expect((await auditsOf(`create-one-${dialect}`)).map((a) => a['activityDisplayName'])).toEqual([
        'Add user',
      ]);
    });

    it('names every missing required property in one 7700001', async () => {
      const response = await call('POST', '/v1.0/users', admin, { displayName: 'Nobody' });
      const inner = expectErrorCode(response, 400, 7700001);
      expect(inner['details']).toEqual({
        missing: ['accountEnabled', 'mailNickname', 'userPrincipalName', 'passwordProfile.password'],
      });
    });

    it('rejects unknown properties and wrongly typed values with 7700001', async () => {
      expectErrorCode(
        await call('POST', '/v1.0/users', admin, createBody('extra', { favouriteColour: 'teal' })),
        400,
        7700001,
      );
      expectErrorCode(
        await call('POST', '/v1.0/users', admin, createBody('typed', { accountEnabled: 'maybe' })),
        400,
        7700001,
      );
      expectErrorCode(
        await call('POST', '/v1.0/users', admin, createBody('loc', { usageLocation: 'GBR' })),
        400,
        7700001,
      );
    });

    it('refuses a caller without a user administration role with 403 7700103', async () => {
      const plain = await rekey.createUserWithToken('plain.creator', 'Quiet-Harbor-7!');
      const response = await call('POST', '/v1.0/users', plain.token, createBody('not.allowed'));
      expectErrorCode(response, 403, 7700103);
      expect(response.json().error.code).toBe('Authorization_RequestDenied');
      expectErrorCode(await call('POST', '/v1.0/users', undefined, createBody('anonymous')), 401, 7700101);
    });

    it('lets a User Administrator create users', async () => {
      const { token } = await rekey.createUserWithToken('user.admin.creator', 'Quiet-Harbor-7!', {
        roles: ['User Administrator'],
      });
      expect((await call('POST', '/v1.0/users', token, createBody('made.by.ua'))).statusCode).toBe(201);
    });

    it.each([
      ['a character outside the allowed set', 'bad*name@example.com'],
      ['no @', 'no-at-sign'],
      ['a leading dot', '.dot@example.com'],
      ['an alias over 64 characters', `${'a'.repeat(65)}@example.com`],
      ['a domain that is not the tenant’s', 'someone@not-ours.example'],
    ])('refuses a UPN with %s with 400 7700009', async (_case, upn) => {
      const response = await call('POST', '/v1.0/users', admin, createBody('x', { userPrincipalName: upn }));
      expectErrorCode(response, 400, 7700009);
    });

    it('answers 409 7700010 for a UPN that exists, ignoring case', async () => {
      await createViaApi('taken');
      const response = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('x', { userPrincipalName: 'TAKEN@Example.com' }),
      );
      expectErrorCode(response, 409, 7700010);
    });

    it('applies the password policy (120002) and names the rules', async () => {
      const response = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('weak', { passwordProfile: { password: 'short' } }),
      );
      const inner = expectErrorCode(response, 400, 120002);
      expect(JSON.stringify(inner['details'])).toContain('length');
      expectErrorCode(await call('GET', '/v1.0/users/weak@example.com', admin), 404, 7700008);
    });

    it('needs an onPremisesImmutableId for a user in a federated domain', async () => {
      const added = await call('POST', '/v1.0/domains', admin, {
        id: `fed-${dialect}.example.net`,
        authenticationType: 'Federated',
        passwordChangeUrl: 'https://sts.example.net/adfs/portal/updatepassword',
      });
      expect(added.statusCode, added.body).toBe(201);
      const upn = `hybrid@fed-${dialect}.example.net`;
      const without = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('hybrid', { userPrincipalName: upn }),
      );
      expect(expectErrorCode(without, 400, 7700001)['details']).toMatchObject({
        field: 'onPremisesImmutableId',
      });
      const bad = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('hybrid', { userPrincipalName: upn, onPremisesImmutableId: 'has$dollar' }),
      );
      expectErrorCode(bad, 400, 7700001);
      const ok = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('hybrid', { userPrincipalName: upn, onPremisesImmutableId: 'aGVsbG8gd29ybGQ=' }),
      );
      expect(ok.statusCode).toBe(201);
    });
  });

  describe('GET /v1.0/users/{id} and /v1.0/me', () => {
    let user: UserJson;
    beforeAll(async () => {
      user = await createViaApi('reader.target', { jobTitle: 'Tester' });
    });

    it('finds a user by id and by UPN (any case) with the default properties', async () => {
      const byId = await call('GET', `/v1.0/users/${user.id}`, admin);
      expect(byId.statusCode).toBe(200);
      expect(byId.json()).toMatchObject({
        '@odata.context': 'http://rekey.test/v1.0/$metadata#users/$entity',
        id: user.id,
        jobTitle: 'Tester',
      });
      expect(byId.json()).not.toHaveProperty('accountEnabled');
      const byUpn = await call('GET', '/v1.0/users/Reader.Target@EXAMPLE.com', admin);
      expect(byUpn.json().id).toBe(user.id);
    });

    it('returns exactly the $select properties (plus id) and names them in @odata.context', async () => {
      const response = await call(
        'GET',
        `/v1.0/users/${user.id}?$select=accountEnabled,passwordPolicies,lastPasswordChangeDateTime,onPremisesSyncEnabled`,
        admin,
      );
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body['@odata.context']).toBe(
        'http://rekey.test/v1.0/$metadata#users(id,accountEnabled,passwordPolicies,lastPasswordChangeDateTime,onPremisesSyncEnabled)/$entity',
      );
      expect(Object.keys(body).sort()).toEqual(
        [
          '@odata.context',
          'id',
          'accountEnabled',
          'passwordPolicies',
          'lastPasswordChangeDateTime',
          'onPremisesSyncEnabled',
        ].sort(),
      );
      expect(body).toMatchObject({
        accountEnabled: true,
        passwordPolicies: 'None',
        onPremisesSyncEnabled: null,
      });
      expect(body.lastPasswordChangeDateTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it('answers 7700007 for an unknown $select property', async () => {
      const inner = expectErrorCode(
        await call('GET', `/v1.0/users/${user.id}?$select=shoeSize`, admin),
        400,
        7700007,
      );
      expect(inner['details']).toMatchObject({ option: '$select', property: 'shoeSize' });
    });

    it('answers 404 7700008 for unknown and malformed ids, 400 7700001 for an absurd one, never 500', async () => {
      expectErrorCode(
        await call('GET', '/v1.0/users/00000000-0000-0000-0000-000000000000', admin),
        404,
        7700008,
      );
      expectErrorCode(await call('GET', '/v1.0/users/not-a-guid', admin), 404, 7700008);
      expectErrorCode(await call('GET', '/v1.0/users/nobody@example.com', admin), 404, 7700008);
      expectErrorCode(
        await call('GET', `/v1.0/users/%27%3B%20drop%20table%20users%3B--`, admin),
        404,
        7700008,
      );
      expectErrorCode(await call('GET', `/v1.0/users/${'x'.repeat(120)}`, admin), 400, 7700001);
      expect(
        (await call('GET', '/v1.0/users/00000000-0000-0000-0000-000000000000', admin)).json().error.code,
      ).toBe('Request_ResourceNotFound');
    });

    it('addresses a user by a UPN of the maximum length (113 characters)', async () => {
      const upn = `${'a'.repeat(64)}@${'b'.repeat(36)}.example.com`;
      expect(upn).toHaveLength(113);
      const added = await call('POST', '/v1.0/domains', admin, { id: `${'b'.repeat(36)}.example.com` });
      expect(added.statusCode, added.body).toBe(201);
      const created = await call(
        'POST',
        '/v1.0/users',
        admin,
        createBody('long', { userPrincipalName: upn }),
      );
      expect(created.statusCode, created.body).toBe(201);
      expect((await call('GET', `/v1.0/users/${upn}`, admin)).json().userPrincipalName).toBe(upn);
    });

    it('lets anyone read themselves but needs a reader role for others', async () => {
      const token = await rekey.signIn('reader.target@example.com', 'Orchid-River-3-Tq!');
      expect((await call('GET', `/v1.0/users/${user.id}`, token)).statusCode).toBe(200);
      const admins = await call('GET', `/v1.0/users/${adminUpn}`, token);
      expectErrorCode(admins, 403, 7700103);
      expectErrorCode(await call('GET', '/v1.0/users', token), 403, 7700103);
      const { token: reader } = await rekey.createUserWithToken('global.reader', 'Quiet-Harbor-7!', {
        roles: ['Global Reader'],
      });
      expect((await call('GET', `/v1.0/users/${user.id}`, reader)).statusCode).toBe(200);
      expect((await call('GET', '/v1.0/users?$top=1', reader)).statusCode).toBe(200);
      expectErrorCode(await call('PATCH', `/v1.0/users/${user.id}`, reader, { jobTitle: 'x' }), 403, 7700103);
    });

    it('GET /v1.0/me returns the caller, with $select', async () => {
      const token = await rekey.signIn('reader.target@example.com', 'Orchid-River-3-Tq!');
      const me = await call('GET', '/v1.0/me', token);
      expect(me.json()).toMatchObject({
        '@odata.context': 'http://rekey.test/v1.0/$metadata#users/$entity',
        id: user.id,
        userPrincipalName: 'reader.target@example.com',
      });
      const selected = await call('GET', '/v1.0/me?$select=accountEnabled,userType', token);
      expect(selected.json()).toEqual({
        '@odata.context': 'http://rekey.test/v1.0/$metadata#users(id,accountEnabled,userType)/$entity',
        id: user.id,
        accountEnabled: true,
        userType: 'Member',
      });
      expectErrorCode(await call('GET', '/v1.0/me?$select=nope', token), 400, 7700007);
      expectErrorCode(await call('GET', '/v1.0/me', undefined), 401, 7700101);
    });
  });

  describe('GET /v1.0/users (list)', () => {
    const prefix = `List ${dialect}`;
    beforeAll(async () => {
      // Names chosen so that display name order differs from UPN order.
      const people = [
        ['list.e', 'Echo'],
        ['list.a', 'Delta'],
        ['list.d', 'alpha'],
        ['list.b', 'Charlie'],
        ['list.c', 'Bravo'],
      ] as const;
      for (const [alias, name] of people) {
        await createViaApi(alias, { displayName: `${prefix} ${name}`, givenName: name });
      }
      await createViaApi('list.off', { displayName: `${prefix} Zulu`, accountEnabled: false });
    });

    async function list(query: string, token = admin): Promise<Json & { value: UserJson[] }> {
      const response = await call('GET', `/v1.0/users?${query}`, token);
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
    }
    const names = (body: { value: UserJson[] }) => body.value.map((u) => u.displayName);

    it('filters with startswith, eq, ne, endswith, and/or/not, ignoring case', async () => {
      const starts = await list(
        `$filter=startswith(displayName,'${prefix.toLowerCase()}')&$orderby=displayName`,
      );
      expect(names(starts)).toEqual(
        ['alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Zulu'].map((n) => `${prefix} ${n}`),
      );
      expect(starts['@odata.context']).toBe('http://rekey.test/v1.0/$metadata#users');
      const eq = await list(`$filter=userPrincipalName eq 'LIST.A@example.com'`);
      expect(names(eq)).toEqual([`${prefix} Delta`]);
      const and = await list(
        `$filter=startswith(displayName,'${prefix}') and (givenName eq 'Echo' or givenName eq 'Bravo')&$orderby=displayName`,
      );
      expect(names(and)).toEqual([`${prefix} Bravo`, `${prefix} Echo`]);
      const not = await list(`$filter=startswith(displayName,'${prefix}') and not(accountEnabled eq true)`);
      expect(names(not)).toEqual([`${prefix} Zulu`]);
      const disabled = await list(`$filter=startswith(displayName,'${prefix}') and accountEnabled eq false`);
      expect(names(disabled)).toEqual([`${prefix} Zulu`]);
      const ends = await list(`$filter=endswith(userPrincipalName,'.off@example.com')`);
      expect(names(ends)).toEqual([`${prefix} Zulu`]);
      const ne = await list(
        `$filter=startswith(displayName,'${prefix}') and givenName ne 'Echo'&$orderby=displayName`,
      );
      // Zulu has no givenName: `null ne 'Echo'` is true in OData.
      expect(names(ne)).toEqual(['alpha', 'Bravo', 'Charlie', 'Delta', 'Zulu'].map((n) => `${prefix} ${n}`));
    });

    it('filters onPremisesSyncEnabled eq null, userType, mailNickname and createdDateTime ranges', async () => {
      const cloud = await list(`$filter=onPremisesSyncEnabled eq null and mailNickname eq 'list.c'`);
      expect(names(cloud)).toEqual([`${prefix} Bravo`]);
      const members = await list(
        `$filter=userType eq 'Member' and startswith(mailNickname,'list.')&$count=true`,
      );
      expect(members['@odata.count']).toBe(6);
      const future = await list(`$filter=createdDateTime ge 2999-01-01T00:00:00Z`);
      expect(future.value).toEqual([]);
      const past = await list(
        `$filter=createdDateTime le 2999-01-01T00:00:00Z and startswith(displayName,'${prefix}')`,
      );
      expect(past.value).toHaveLength(6);
    });

    it('filters by id (eq, in) and onPremisesImmutableId', async () => {
      const target = (await list(`$filter=mailNickname eq 'list.b'`)).value[0];
      expect(target).toBeDefined();
      const byId = await list(`$filter=id eq '${target?.id}'`);
      expect(names(byId)).toEqual([`${prefix} Charlie`]);
      const byIn = await list(`$filter=id in ('${target?.id}', '00000000-0000-0000-0000-000000000000')`);
      expect(names(byIn)).toEqual([`${prefix} Charlie`]);
      await createViaApi('list.synced', {
        displayName: 'Synced Person',
        onPremisesImmutableId: `imm-${dialect}-1`,
      });
      const synced = await list(`$filter=onPremisesImmutableId eq 'imm-${dialect}-1'`);
      expect(names(synced)).toEqual(['Synced Person']);
      const cloudOnly = await list(
        `$filter=onPremisesImmutableId eq null and startswith(displayName,'${prefix}')&$count=true`,
      );
      expect(cloudOnly['@odata.count']).toBe(6);
    });

    it('orders by displayName (either way) and userPrincipalName, and selects', async () => {
      const desc = await list(
        `$filter=startswith(displayName,'${prefix}')&$orderby=displayName desc&$select=displayName`,
      );
      expect(names(desc)).toEqual(
        ['Zulu', 'Echo', 'Delta', 'Charlie', 'Bravo', 'alpha'].map((n) => `${prefix} ${n}`),
      );
      expect(Object.keys(desc.value[0] ?? {}).sort()).toEqual(['displayName', 'id']);
      expect(desc['@odata.context']).toBe('http://rekey.test/v1.0/$metadata#users(id,displayName)');
      const byUpn = await list(`$filter=startswith(displayName,'${prefix}')&$orderby=userPrincipalName`);
      expect(byUpn.value.map((u) => u.userPrincipalName)).toEqual([
        'list.a@example.com',
        'list.b@example.com',
        'list.c@example.com',
        'list.d@example.com',
        'list.e@example.com',
        'list.off@example.com',
      ]);
    });

    it('answers $count=true with @odata.count with or without ConsistencyLevel', async () => {
      const query = `/v1.0/users?$filter=startswith(displayName,'${prefix}')&$count=true&$top=2`;
      for (const headers of [{}, { consistencylevel: 'eventual' }] as Record<string, string>[]) {
        const body = (await call('GET', query, admin, undefined, headers)).json();
        expect(body['@odata.count']).toBe(6);
        expect(body.value).toHaveLength(2);
      }
      const none = await list(`$filter=startswith(displayName,'${prefix}')`);
      expect(none).not.toHaveProperty('@odata.count');
    });

    it('rejects bad query options with 7700007', async () => {
      for (const query of [
        '$top=1000',
        '$top=0',
        '$top=abc',
        '$filter=displayName eq',
        "$filter=jobTitle eq 'x'",
        "$filter=accountEnabled eq 'yes'",
        '$orderby=createdDateTime',
        '$select=shoeSize',
        '$search="x"',
        '$skiptoken=garbage!!',
      ]) {
        expectErrorCode(await call('GET', `/v1.0/users?${query}`, admin), 400, 7700007);
      }
    });

    it('defaults $top to 100', async () => {
      for (let i = 0; i < 100; i += 1) {
        await rekey.createUser(`bulk${String(i).padStart(3, '0')}`, 'Quiet-Harbor-7!');
      }
      const first = await list('');
      expect(first.value).toHaveLength(100);
      expect(first['@odata.nextLink']).toBeTypeOf('string');
    });

    it('pages with @odata.nextLink: every user once, even when users are added between pages', async () => {
      const paged = `Paged ${dialect}`;
      const expected: string[] = [];
      for (let i = 0; i < 7; i += 1) {
        const name = `${paged} ${String.fromCharCode(98 + i * 2)}`; // b, d, f, h, j, l, n
        expected.push(name);
        await createViaApi(`paged.${i}`, { displayName: name });
      }
      let url: string | undefined =
        `/v1.0/users?$filter=startswith(displayName,'${paged}')&$orderby=displayName&$top=3&$select=displayName&$count=true`;
      const seen: string[] = [];
      let pages = 0;
      while (url !== undefined) {
        const response = await call('GET', url, admin);
        expect(response.statusCode, response.body).toBe(200);
        const body = response.json<Json & { value: UserJson[] }>();
        if (pages === 0) expect(body['@odata.count']).toBe(7);
        else expect(body).not.toHaveProperty('@odata.count');
        seen.push(...names(body));
        pages += 1;
        if (pages === 1) {
          // One new user sorts before the position reached, one after it.
          await createViaApi('paged.early', { displayName: `${paged} a` });
          await createViaApi('paged.late', { displayName: `${paged} m` });
          expected.push(`${paged} m`);
        }
        const next = body['@odata.nextLink'];
        url = typeof next === 'string' ? next.replace('http://rekey.test', '') : undefined;
        if (typeof next === 'string')
          expect(next).toMatch(/^http:\/\/rekey\.test\/v1\.0\/users\?.*\$skiptoken=/);
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([...expected].sort());
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('does not list deleted users', async () => {
      const doomed = await createViaApi('list.doomed', { displayName: `${prefix} Doomed` });
      expect((await call('DELETE', `/v1.0/users/${doomed.id}`, admin)).statusCode).toBe(204);
      const body = await list(`$filter=startswith(displayName,'${prefix}')&$count=true`);
      expect(names(body)).not.toContain(`${prefix} Doomed`);
      expect(body['@odata.count']).toBe(6);
    });
  });

  describe('PATCH /v1.0/users/{id}', () => {
    it('updates each profile field, writes one "Update user" audit with old and new values', async () => {
      const user = await createViaApi('patch.fields', { givenName: 'Old' });
      const correlation = `patch-fields-${dialect}`;
      const response = await call(
        'PATCH',
        `/v1.0/users/${user.id}`,
        admin,
        {
          displayName: 'Patched Person',
          givenName: 'New',
          surname: 'Surname',
          mail: 'patched@example.com',
          jobTitle: 'Manager',
          usageLocation: 'nl',
          passwordPolicies: 'DisableStrongPassword, DisablePasswordExpiration',
        },
        { 'client-request-id': correlation },
      );
      expect(response.statusCode).toBe(204);
      expect(response.body).toBe('');
      const after = (
        await call(
          'GET',
          `/v1.0/users/${user.id}?$select=displayName,givenName,surname,mail,jobTitle,usageLocation,passwordPolicies`,
          admin,
        )
      ).json();
      expect(after).toMatchObject({
        displayName: 'Patched Person',
        givenName: 'New',
        surname: 'Surname',
        mail: 'patched@example.com',
        jobTitle: 'Manager',
        usageLocation: 'NL',
        passwordPolicies: 'DisablePasswordExpiration, DisableStrongPassword',
      });
      const audits = await auditsOf(correlation);
      expect(audits.map((a) => a['activityDisplayName'])).toEqual(['Update user']);
      const target = firstTarget(audits[0]);
      expect(target).toMatchObject({ id: user.id, type: 'User' });
      expect(target?.['modifiedProperties']).toContainEqual({
        displayName: 'GivenName',
        oldValue: '"Old"',
        newValue: '"New"',
      });
      expect(target?.['modifiedProperties']).toContainEqual({
        displayName: 'PasswordPolicies',
        oldValue: 'null',
        newValue: '"DisablePasswordExpiration, DisableStrongPassword"',
      });
      // Clearing a field and setting passwordPolicies back to None.
      await call('PATCH', `/v1.0/users/${user.id}`, admin, { mail: null, passwordPolicies: 'None' });
      const cleared = (
        await call('GET', `/v1.0/users/${user.id}?$select=mail,passwordPolicies`, admin)
      ).json();
      expect(cleared).toMatchObject({ mail: null, passwordPolicies: 'None' });
    });

    it('refuses an unknown passwordPolicies value, unknown properties and an empty displayName', async () => {
      const user = await createViaApi('patch.invalid');
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${user.id}`, admin, { passwordPolicies: 'NeverAsk' }),
        400,
        7700001,
      );
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${user.id}`, admin, { userPrincipalName: 'x@example.com' }),
        400,
        7700001,
      );
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${user.id}`, admin, { displayName: '' }),
        400,
        7700001,
      );
      expectErrorCode(
        await call('PATCH', '/v1.0/users/nobody@example.com', admin, { jobTitle: 'x' }),
        404,
        7700008,
      );
    });

    it('sets the force-change flag alone: sign-in answers 50055, audited', async () => {
      const user = await createViaApi('patch.force');
      const correlation = `patch-force-${dialect}`;
      const response = await call(
        'PATCH',
        `/v1.0/users/${user.id}`,
        admin,
        { passwordProfile: { forceChangePasswordNextSignIn: true } },
        { 'client-request-id': correlation },
      );
      expect(response.statusCode).toBe(204);
      expect(await signInCode('patch.force@example.com', 'Orchid-River-3-Tq!')).toBe(50055);
      const audits = await auditsOf(correlation);
      expect(audits.map((a) => a['activityDisplayName'])).toEqual(['Set force change user password']);
      expect(firstTarget(audits[0])?.['modifiedProperties']).toEqual([
        { displayName: 'ForceChangePasswordNextSignIn', oldValue: 'false', newValue: 'true' },
      ]);
    });

    it('resets the password through passwordProfile: new one forces a change (50055), old one is wrong (50126)', async () => {
      const user = await createViaApi('patch.reset');
      const oldToken = await rekey.signIn('patch.reset@example.com', 'Orchid-River-3-Tq!');
      const correlation = `patch-reset-${dialect}`;
      const response = await call(
        'PATCH',
        `/v1.0/users/${user.id}`,
        admin,
        { jobTitle: 'Reset', passwordProfile: { password: 'Copper-Meadow-41-Zx!' } },
        { 'client-request-id': correlation },
      );
      expect(response.statusCode, response.body).toBe(204);
      expect(await signInCode('patch.reset@example.com', 'Copper-Meadow-41-Zx!')).toBe(50055);
      expect(await signInCode('patch.reset@example.com', 'Orchid-River-3-Tq!')).toBe(50126);
      // Sessions were revoked by the reset.
      expectErrorCode(await call('GET', '/v1.0/me', oldToken), 401, 50133);
      const audits = await auditsOf(correlation);
      expect(audits.map((a) => a['activityDisplayName']).sort()).toEqual([
        'Reset password (by admin)',
        'Update user',
      ]);
      expect(JSON.stringify(audits)).not.toContain('Copper-Meadow');
    });

    it('honours forceChangePasswordNextSignIn: false given with the new password', async () => {
      const user = await createViaApi('patch.noforce');
      const response = await call('PATCH', `/v1.0/users/${user.id}`, admin, {
        passwordProfile: { password: 'Copper-Meadow-42-Zx!', forceChangePasswordNextSignIn: false },
      });
      expect(response.statusCode).toBe(204);
      expect(await signInCode('patch.noforce@example.com', 'Copper-Meadow-42-Zx!')).toBe(0);
    });

    it('refuses a weak new password (120002) and then changes nothing else', async () => {
      const user = await createViaApi('patch.weak');
      const response = await call('PATCH', `/v1.0/users/${user.id}`, admin, {
        jobTitle: 'Should Not Stick',
        passwordProfile: { password: 'weak' },
      });
      expectErrorCode(response, 400, 120002);
      expect(
        (await call('GET', `/v1.0/users/${user.id}?$select=jobTitle`, admin)).json().jobTitle,
      ).toBeNull();
      expect(await signInCode('patch.weak@example.com', 'Orchid-River-3-Tq!')).toBe(0);
    });

    it('refuses an administrator resetting their own password through PATCH (7700104)', async () => {
      const me = (await call('GET', '/v1.0/me', admin)).json<UserJson>();
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${me.id}`, admin, {
          passwordProfile: { password: 'Copper-Meadow-43-Zx!' },
        }),
        403,
        7700104,
      );
      expect(await signInCode(adminUpn, adminPassword)).toBe(0);
    });

    it('disabling refuses the existing token (50057) and sign-in (50057); enabling lets the user back in', async () => {
      const user = await createViaApi('patch.disable');
      const token = await rekey.signIn('patch.disable@example.com', 'Orchid-River-3-Tq!');
      expect((await call('GET', '/v1.0/me', token)).statusCode).toBe(200);
      const correlation = `patch-disable-${dialect}`;
      const disabled = await call(
        'PATCH',
        `/v1.0/users/${user.id}`,
        admin,
        { accountEnabled: false },
        { 'client-request-id': correlation },
      );
      expect(disabled.statusCode).toBe(204);
      expectErrorCode(await call('GET', '/v1.0/me', token), 400, 50057);
      expect(await signInCode('patch.disable@example.com', 'Orchid-River-3-Tq!')).toBe(50057);
      const audits = await auditsOf(correlation);
      expect(audits.map((a) => a['activityDisplayName'])).toEqual(['Disable account']);
      expect(firstTarget(audits[0])?.['modifiedProperties']).toEqual([
        { displayName: 'AccountEnabled', oldValue: 'true', newValue: 'false' },
      ]);
      const enabled = await call(
        'PATCH',
        `/v1.0/users/${user.id}`,
        admin,
        { accountEnabled: true },
        { 'client-request-id': `${correlation}-on` },
      );
      expect(enabled.statusCode).toBe(204);
      expect((await auditsOf(`${correlation}-on`)).map((a) => a['activityDisplayName'])).toEqual([
        'Enable account',
      ]);
      expect(await signInCode('patch.disable@example.com', 'Orchid-River-3-Tq!')).toBe(0);
      // The token from before the disable stays dead: disabling revoked the sessions.
      expectErrorCode(await call('GET', '/v1.0/me', token), 401, 50133);
    });

    it('writes no audit for a PATCH that changes nothing', async () => {
      const user = await createViaApi('patch.noop', { jobTitle: 'Same' });
      const correlation = `patch-noop-${dialect}`;
      const response = await call(
        'PATCH',
        `/v1.0/users/${user.id}`,
        admin,
        { jobTitle: 'Same', accountEnabled: true },
        { 'client-request-id': correlation },
      );
      expect(response.statusCode).toBe(204);
      expect(await auditsOf(correlation)).toEqual([]);
    });

    it('keeps a User Administrator away from administrators (7700103) but lets them manage plain users', async () => {
      const { token: ua } = await rekey.createUserWithToken('ua.patcher', 'Quiet-Harbor-7!', {
        roles: ['User Administrator'],
      });
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${adminUpn}`, ua, { jobTitle: 'Hijacked' }),
        403,
        7700103,
      );
      expectErrorCode(await call('DELETE', `/v1.0/users/${adminUpn}`, ua), 403, 7700103);
      const plain = await createViaApi('ua.target');
      expect((await call('PATCH', `/v1.0/users/${plain.id}`, ua, { jobTitle: 'Managed' })).statusCode).toBe(
        204,
      );
      const reset = await call('PATCH', `/v1.0/users/${plain.id}`, ua, {
        passwordProfile: { password: 'Copper-Meadow-44-Zx!' },
      });
      expect(reset.statusCode, reset.body).toBe(204);
      expect(await signInCode('ua.target@example.com', 'Copper-Meadow-44-Zx!')).toBe(50055);
    });
  });

  describe('the last Global Administrator', () => {
    it('cannot be disabled or deleted; another Global Administrator can be', async () => {
      const me = (await call('GET', '/v1.0/me', admin)).json<UserJson>();
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${me.id}`, admin, { accountEnabled: false }),
        400,
        7700106,
      );
      expectErrorCode(await call('DELETE', `/v1.0/users/${me.id}`, admin), 403, 7700107);

      const second = await rekey.createUser('second.ga', 'Quiet-Harbor-7!', {
        roles: ['Global Administrator'],
      });
      // With two, the other one may be disabled...
      expect(
        (await call('PATCH', `/v1.0/users/${second.id}`, admin, { accountEnabled: false })).statusCode,
      ).toBe(204);
      // ...and then the remaining one is the last again.
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${me.id}`, admin, { accountEnabled: false }),
        400,
        7700106,
      );
      expect(
        (await call('PATCH', `/v1.0/users/${second.id}`, admin, { accountEnabled: true })).statusCode,
      ).toBe(204);
      const fresh = await rekey.signIn('second.ga@example.com', 'Quiet-Harbor-7!');
      // The second administrator deletes the first, cannot delete themself, and restores the first.
      expect((await call('DELETE', `/v1.0/users/${me.id}`, fresh)).statusCode).toBe(204);
      expectErrorCode(
        await call('PATCH', `/v1.0/users/${second.id}`, fresh, { accountEnabled: false }),
        400,
        7700106,
      );
      expect((await call('POST', `/v1.0/directory/deletedItems/${me.id}/restore`, fresh)).statusCode).toBe(
        200,
      );
      expect(await signInCode(adminUpn, adminPassword)).toBe(0);
      admin = await rekey.signIn(adminUpn, adminPassword);
    });
  });

  describe('two Global Administrators disabling each other at the same moment', () => {
    it('lets exactly one of them succeed', async () => {
      const me = (await call('GET', '/v1.0/me', admin)).json<UserJson>();
      const second = (await call('GET', '/v1.0/users/second.ga@example.com', admin)).json<UserJson>();
      // Straight to the service, so that both requests get past authentication before either commits.
      const contextOf = (user: UserJson) => ({
        ...systemContext(`race-${user.id}`),
        actor: {
          userId: user.id,
          userPrincipalName: user.userPrincipalName,
          displayName: user.displayName,
          roles: ['Global Administrator'],
          appId: cliClientId,
          appDisplayName: 'Rekey CLI',
        },
      });
      const outcomes = await Promise.allSettled([
        rekey.users.updateUser(contextOf(me), second.id, { accountEnabled: false }),
        rekey.users.updateUser(contextOf(second), me.id, { accountEnabled: false }),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect(refused?.status === 'rejected' && refused.reason).toMatchObject({ code: 7700106 });
      // Put things back for the tests that follow.
      for (const id of [me.id, second.id])
        await rekey.users.updateUser(systemContext('race-undo'), id, { accountEnabled: true });
      admin = await rekey.signIn(adminUpn, adminPassword);
    });
  });

  describe('DELETE and directory/deletedItems', () => {
    it('soft-deletes, lists with deletedDateTime, restores, and hard-deletes', async () => {
      const user = await createViaApi('deleted.one');
      const token = await rekey.signIn('deleted.one@example.com', 'Orchid-River-3-Tq!');
      const correlation = `delete-${dialect}`;
      const deleted = await call('DELETE', `/v1.0/users/${user.id}`, admin, undefined, {
        'client-request-id': correlation,
      });
      expect(deleted.statusCode).toBe(204);
      expect((await auditsOf(correlation)).map((a) => a['activityDisplayName'])).toEqual(['Delete user']);
      expectErrorCode(await call('GET', `/v1.0/users/${user.id}`, admin), 404, 7700008);
      expectErrorCode(await call('GET', '/v1.0/users/deleted.one@example.com', admin), 404, 7700008);
      expectErrorCode(await call('PATCH', `/v1.0/users/${user.id}`, admin, { jobTitle: 'x' }), 404, 7700008);
      expectErrorCode(await call('DELETE', `/v1.0/users/${user.id}`, admin), 404, 7700008);
      expect(await signInCode('deleted.one@example.com', 'Orchid-River-3-Tq!')).toBe(50034);
      expectErrorCode(await call('GET', '/v1.0/me', token), 401, 50133);

      const listed = await call(
        'GET',
        "/v1.0/directory/deletedItems/microsoft.graph.user?$filter=userPrincipalName eq 'deleted.one@example.com'",
        admin,
      );
      expect(listed.statusCode, listed.body).toBe(200);
      const listBody = listed.json<{ value: Json[] } & Json>();
      expect(listBody['@odata.context']).toBe(
        'http://rekey.test/v1.0/$metadata#directory/deletedItems/microsoft.graph.user',
      );
      expect(listBody.value).toHaveLength(1);
      expect(listBody.value[0]).toMatchObject({ id: user.id, userPrincipalName: 'deleted.one@example.com' });
      expect(listBody.value[0]?.['deletedDateTime']).toMatch(/^\d{4}-\d\d-\d\dT/);

      const one = await call('GET', `/v1.0/directory/deletedItems/${user.id}`, admin);
      expect(one.json()).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: user.id });
      expect(one.json()['deletedDateTime']).toMatch(/^\d{4}-/);
      // A live user is not a deleted item.
      const live = await createViaApi('deleted.live');
      expectErrorCode(await call('GET', `/v1.0/directory/deletedItems/${live.id}`, admin), 404, 7700008);

      const restored = await call(
        'POST',
        `/v1.0/directory/deletedItems/${user.id}/restore`,
        admin,
        undefined,
        {
          'client-request-id': `${correlation}-restore`,
        },
      );
      expect(restored.statusCode).toBe(200);
      expect(restored.json()).toMatchObject({ id: user.id, userPrincipalName: 'deleted.one@example.com' });
      expect((await auditsOf(`${correlation}-restore`)).map((a) => a['activityDisplayName'])).toEqual([
        'Restore user',
      ]);
      expect((await call('GET', `/v1.0/users/${user.id}`, admin)).statusCode).toBe(200);
      expect(await signInCode('deleted.one@example.com', 'Orchid-River-3-Tq!')).toBe(0);
      expectErrorCode(
        await call('POST', `/v1.0/directory/deletedItems/${user.id}/restore`, admin),
        404,
        7700008,
      );

      // Hard delete needs a soft delete first.
      expectErrorCode(await call('DELETE', `/v1.0/directory/deletedItems/${user.id}`, admin), 404, 7700008);
      expect((await call('DELETE', `/v1.0/users/${user.id}`, admin)).statusCode).toBe(204);
      const purged = await call('DELETE', `/v1.0/directory/deletedItems/${user.id}`, admin, undefined, {
        'client-request-id': `${correlation}-purge`,
      });
      expect(purged.statusCode).toBe(204);
      expect((await auditsOf(`${correlation}-purge`)).map((a) => a['activityDisplayName'])).toEqual([
        'Hard delete user',
      ]);
      expectErrorCode(await call('GET', `/v1.0/directory/deletedItems/${user.id}`, admin), 404, 7700008);
      expectErrorCode(
        await call('POST', `/v1.0/directory/deletedItems/${user.id}/restore`, admin),
        404,
        7700008,
      );
      // The UPN is free again after a hard delete.
      expect((await call('POST', '/v1.0/users', admin, createBody('deleted.one'))).statusCode).toBe(201);
    });

    it('pages deleted users and rejects bad options', async () => {
      for (let i = 0; i < 3; i += 1) {
        const user = await createViaApi(`deleted.page${i}`);
        await call('DELETE', `/v1.0/users/${user.id}`, admin);
      }
      let url: string | undefined =
        "/v1.0/directory/deletedItems/microsoft.graph.user?$filter=startswith(userPrincipalName,'deleted.page')&$top=2&$count=true";
      const seen: string[] = [];
      while (url !== undefined) {
        const body: Json & { value: UserJson[] } = (await call('GET', url, admin)).json();
        seen.push(...body.value.map((u) => u.userPrincipalName));
        const next = body['@odata.nextLink'];
        url = typeof next === 'string' ? next.replace('http://rekey.test', '') : undefined;
      }
      expect(seen).toEqual([
        'deleted.page0@example.com',
        'deleted.page1@example.com',
        'deleted.page2@example.com',
      ]);
      expectErrorCode(
        await call('GET', '/v1.0/directory/deletedItems/microsoft.graph.user?$orderby=mail', admin),
        400,
        7700007,
      );
    });

    it('needs a role for deletedItems', async () => {
      const { token: plain } = await rekey.createUserWithToken('plain.deleter', 'Quiet-Harbor-7!');
      expectErrorCode(
        await call('GET', '/v1.0/directory/deletedItems/microsoft.graph.user', plain),
        403,
        7700103,
      );
      expectErrorCode(await call('DELETE', `/v1.0/users/${adminUpn}`, plain), 403, 7700103);
      expectErrorCode(
        await call(
          'POST',
          '/v1.0/directory/deletedItems/00000000-0000-0000-0000-000000000000/restore',
          plain,
        ),
        403,
        7700103,
      );
    });
  });
});

describe('responses', () => {
  it('never contain a password hash', () => {
    expect(bodies.length).toBeGreaterThan(100);
    for (const body of bodies) {
      expect(body).not.toContain('password_hash');
      expect(body).not.toContain('passwordHash');
      expect(body).not.toContain('$argon2id$');
    }
  });
});
