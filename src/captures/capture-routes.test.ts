import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizeUrl,
  formField,
  pkcePair,
  redirectParams,
  TestBrowser,
} from '../../test/support/browser-sign-in.js';
import { dialects } from '../../test/support/databases.js';
import { bearer, expectErrorCode, type Json } from '../../test/support/http-helpers.js';
import {
  adminPassword,
  adminUpn,
  cliClientId,
  passwordGrant,
  startTestRekey,
  type TestRekey,
} from '../../test/support/rekey-harness.js';
import { readZip } from '../platform/archive/zip-writer.js';
import { Codes } from '../platform/errors/catalog.js';
import { createLogger } from '../platform/log.js';
import { systemContext } from '../platform/request-context.js';
import { createCaptureService } from './capture-service.js';

/*
 * HTTP captures end to end, on both databases: a capture by user, by correlation ID and by the
 * `Rekey-Capture: on` header records the real exchanges of the token endpoint and the APIs as HAR
 * 1.2; its window and its stop end it; the header from anyone but an administrator is ignored; the
 * cap and the body limit hold; and no HAR, nor any file of any support bundle, holds the canary
 * password, a token or the connector's bind secret.
 */

const canary = 'Har-Canary-Pass-61!';
const nextPassword = 'Har-Canary-Next-62!';
const bindSecret = 'Har-Bind-Secret-Only-Sealed-9K';

interface HarJson {
  log: {
    version: string;
    creator: { name: string };
    entries: Array<{
      request: {
        method: string;
        url: string;
        headers: Array<{ name: string; value: string }>;
        queryString: Array<{ name: string; value: string }>;
        postData?: { text: string; params?: Array<{ name: string; value: string }> };
      };
      response: { status: number; content: { text?: string; size: number } };
      _correlationId: string;
      _truncated: boolean;
    }>;
  };
}

describe.each(dialects)('HTTP captures on %s', (dialect) => {
  let rekey: TestRekey;
  let admin: string;
  let now = new Date();
  const clock = { now: () => now };
  /** Every secret the suite sent or received, to look for in every HAR and bundle. */
  const secrets = new Set<string>([canary, nextPassword, bindSecret]);

  beforeAll(async () => {
    rekey = await startTestRekey(dialect, { clock });
    admin = await rekey.adminToken();
    secrets.add(admin);
  });
  afterAll(async () => rekey?.close());

  async function call(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    token: string | undefined,
    payload?: Json,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const response = await rekey.app.inject({
      method,
      url,
      headers: { ...(token === undefined ? {} : bearer(token)), ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
    // Every recording the request started is written before the test reads it.
    await rekey.captures.idle();
    return response;
  }

  async function startCapture(body: Json): Promise<Json & { id: string }> {
    const response = await call('POST', '/rekey/v1/captures', admin, body);
    expect(response.statusCode, response.body).toBe(201);
    return response.json<Json & { id: string }>();
  }

  async function harOf(id: string): Promise<{ har: HarJson; text: string }> {
    const response = await call('GET', `/rekey/v1/captures/${id}/har`, admin);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-disposition']).toContain(`rekey-capture-${id}.har`);
    return { har: response.json<HarJson>(), text: response.body };
  }

  function expectNoSecret(text: string, where: string): void {
    for (const secret of secrets) {
      expect(text, `${where} holds a secret`).not.toContain(secret);
      expect(text, `${where} holds a secret, base64`).not.toContain(Buffer.from(secret).toString('base64'));
    }
  }

  it("records a user's sign-in, reads and change by their name, redacted, for the window only", async () => {
    const ann = await rekey.createUser('har.ann', canary);
    // Before any capture: not recorded anywhere.
    await rekey.tokenRequest(passwordGrant(ann.userPrincipalName, canary));
    const capture = await startCapture({ userPrincipalName: 'HAR.Ann@example.com', durationMinutes: 30 });
    expect(capture).toMatchObject({
      target: 'user',
      userPrincipalName: 'har.ann@example.com',
      userId: ann.id,
      status: 'recording',
      entryCount: 0,
      maxEntries: 1000,
      createdBy: { userPrincipalName: adminUpn },
    });
    const flow = await startCapture({ correlationId: 'har-canary-flow', durationMinutes: 30 });

    const headers = { 'client-request-id': 'har-canary-flow' };
    const signedIn = await rekey.tokenRequest(passwordGrant(ann.userPrincipalName, canary), headers);
    await rekey.captures.idle();
    expect(signedIn.statusCode).toBe(200);
    const tokens = signedIn.json<{ access_token: string; refresh_token: string }>();
    secrets.add(tokens.access_token);
    secrets.add(tokens.refresh_token);
    expect((await call('GET', '/v1.0/me', tokens.access_token, undefined, headers)).statusCode).toBe(200);
    const wrong = await call(
      'POST',
      '/v1.0/me/changePassword',
      tokens.access_token,
      { currentPassword: `${canary}x`, newPassword: nextPassword },
      headers,
    );
    expect(wrong.statusCode).toBe(400);
    const refreshed = await rekey.tokenRequest(
      { grant_type: 'refresh_token', client_id: cliClientId, refresh_token: tokens.refresh_token },
      headers,
    );
    await rekey.captures.idle();
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    secrets.add(refreshed.json<{ refresh_token: string }>().refresh_token);
    // Someone else's request: not the user's, not the correlation ID's.
    await call('GET', '/v1.0/me', admin);

    const { har, text } = await harOf(capture.id);
    expect(har.log).toMatchObject({ version: '1.2', creator: { name: 'Rekey' } });
    // The sign-in (by the user name in its body), the read and the refused change (by the
    // signed-in user); the refresh grant names no user, so only the correlation capture has it.
    // Entries are in the order the exchanges started, and this suite's clock stands still: by path.
    const byPath = (path: string) => har.log.entries.find((e) => new URL(e.request.url).pathname === path);
    expect(
      har.log.entries.map((e) => `${e.request.method} ${new URL(e.request.url).pathname}`).sort(),
    ).toEqual(['GET /v1.0/me', 'POST /example.com/oauth2/v2.0/token', 'POST /v1.0/me/changePassword']);
    const [signIn, me, change] = [
      byPath('/example.com/oauth2/v2.0/token'),
      byPath('/v1.0/me'),
      byPath('/v1.0/me/changePassword'),
    ];
    expect(signIn?.request.postData?.params).toEqual(
      expect.arrayContaining([
        { name: 'username', value: ann.userPrincipalName },
        { name: 'password', value: '[redacted]' },
      ]),
    );
    expect(JSON.parse(signIn?.response.content.text ?? '{}')).toMatchObject({
      access_token: '[redacted]',
      refresh_token: '[redacted]',
      token_type: 'Bearer',
    });
    expect(me?.request.headers).toContainEqual({ name: 'authorization', value: '[redacted]' });
    expect(me?.response.status).toBe(200);
    expect(JSON.parse(change?.request.postData?.text ?? '{}')).toEqual({
      currentPassword: '[redacted]',
      newPassword: '[redacted]',
    });
    expect(change?.response.status).toBe(400);
    // The error's own code and number are kept: they are what a reader of the capture looks for.
    const error = JSON.parse(change?.response.content.text ?? '{}') as {
      error: { code: string; innerError: { aadstsCode: number } };
    };
    expect(error.error.code).toMatch(/^[A-Za-z_]+$/);
    expect(error.error.code).not.toBe('[redacted]');
    expect(error.error.innerError.aadstsCode).toBeGreaterThan(0);
    expect(har.log.entries.every((e) => e._correlationId === 'har-canary-flow')).toBe(true);
    expectNoSecret(text, 'the user capture');

    const flowHar = await harOf(flow.id);
    expect(flowHar.har.log.entries).toHaveLength(4);
    const refresh = flowHar.har.log.entries.find((e) =>
      e.request.postData?.params?.some((p) => p.name === 'grant_type' && p.value === 'refresh_token'),
    );
    expect(refresh?.request.postData?.params).toContainEqual({ name: 'refresh_token', value: '[redacted]' });
    expectNoSecret(flowHar.text, 'the correlation capture');

    // Past the window: no longer recorded, and shown as ended.
    now = new Date(now.getTime() + 31 * 60_000);
    await call('GET', '/v1.0/me', await rekey.signIn(ann.userPrincipalName, canary));
    const ended = await call('GET', `/rekey/v1/captures/${capture.id}`, admin);
    expect(ended.json()).toMatchObject({ status: 'ended', entryCount: 3, droppedCount: 0 });
    expect((await harOf(capture.id)).har.log.entries).toHaveLength(3);
  });

  it("records the 401s a user's expired token gets in that user's capture, and no one else's", async () => {
    const bea = await rekey.createUser('har.bea', canary);
    const other = await rekey.createUser('har.cal', canary);
    const beaToken = await rekey.signIn(bea.userPrincipalName, canary);
    const otherToken = await rekey.signIn(other.userPrincipalName, canary);
    secrets.add(beaToken);
    secrets.add(otherToken);
    // A day later both tokens have expired; the administrator signs in again.
    now = new Date(now.getTime() + 24 * 3_600_000);
    admin = await rekey.signIn(adminUpn, adminPassword);
    secrets.add(admin);
    const capture = await startCapture({ userPrincipalName: bea.userPrincipalName, durationMinutes: 30 });

    const expired = await call('GET', '/v1.0/me', beaToken, undefined, {
      'client-request-id': 'har-expired',
    });
    expect(expired.statusCode).toBe(401);
    // Someone else's expired token, and Bea's claims under a signature Rekey did not make.
    expect((await call('GET', '/v1.0/me', otherToken)).statusCode).toBe(401);
    const [header, payload] = beaToken.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    expect(
      (await call('GET', '/v1.0/me', forged, undefined, { 'client-request-id': 'har-forged' })).statusCode,
    ).toBe(401);
    // And unsigned ("alg": "none"), under Rekey's key id.
    const { kid } = JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as { kid: string };
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${payload}.`;
    expect(
      (await call('GET', '/v1.0/me', unsigned, undefined, { 'client-request-id': 'har-unsigned' }))
        .statusCode,
    ).toBe(401);

    const { har, text } = await harOf(capture.id);
    expect(har.log.entries.map((e) => [e._correlationId, e.response.status])).toEqual([['har-expired', 401]]);
    expectNoSecret(text, "the expired token's capture");
  });

  it('bundles the HAR of the captures matching its selectors, in the manifest, with no secret in any file', async () => {
    const correlationId = 'har-bundle-connector';
    await startCapture({ correlationId, durationMinutes: 10 });
    const created = await call(
      'POST',
      '/rekey/v1/connectors',
      admin,
      {
        displayName: 'HAR office',
        flavor: 'openldap',
        url: 'ldaps://ldap.example.com',
        bindDn: 'cn=rekey,ou=services,dc=example,dc=com',
        bindPassword: bindSecret,
        baseDn: 'ou=people,dc=example,dc=com',
      },
      { 'client-request-id': correlationId },
    );
    expect(created.statusCode, created.body).toBe(201);

    const bundles: Array<[string, Json]> = [
      ['by user', { userPrincipalName: 'har.ann@example.com' }],
      ['by request', { correlationId: 'har-canary-flow' }],
      ['by the connector request', { correlationId }],
    ];
    for (const [label, selectors] of bundles) {
      const response = await rekey.app.inject({
        method: 'POST',
        url: '/rekey/v1/supportBundles',
        headers: bearer(admin),
        payload: selectors,
      });
      expect(response.statusCode, `${label}: ${response.body}`).toBe(200);
      const files = readZip(response.rawPayload);
      const names = files.map((f) => f.name);
      const hars = names.filter((n) => n.startsWith('har/') && n.endsWith('.har'));
      expect(hars.length, label).toBeGreaterThan(0);
      expect(names).toEqual(expect.arrayContaining(['traces/connector-calls.json', 'versions.json']));
      const manifest = JSON.parse(
        files.find((f) => f.name === 'manifest.json')?.data.toString('utf8') ?? '{}',
      ) as {
        files: Array<{ name: string }>;
      };
      expect(manifest.files.map((f) => f.name)).toEqual(expect.arrayContaining(hars));
      for (const file of files) expectNoSecret(file.data.toString('utf8'), `${label}: ${file.name}`);
      const entries = hars.flatMap(
        (name) =>
          (JSON.parse(files.find((f) => f.name === name)?.data.toString('utf8') ?? '{}') as HarJson).log
            .entries,
      );
      expect(entries.length, label).toBeGreaterThan(0);
      if (label === 'by the connector request') {
        const post = entries.find((e) => e.request.method === 'POST');
        expect(JSON.parse(post?.request.postData?.text ?? '{}')).toMatchObject({
          bindPassword: '[redacted]',
        });
      }
    }
  });

  it('honours Rekey-Capture: on from an administrator only, and says so', async () => {
    const correlationId = 'har-header-admin';
    const marked = await call('GET', '/v1.0/users?$top=1', admin, undefined, {
      'rekey-capture': 'on',
      'client-request-id': correlationId,
    });
    expect(marked.statusCode).toBe(200);
    const captureId = String(marked.headers['rekey-capture']);
    expect(captureId).toMatch(/^[0-9a-f-]{36}$/);
    // The next marked request goes into the same capture.
    const again = await call('GET', '/v1.0/me', admin, undefined, { 'rekey-capture': 'on' });
    expect(again.headers['rekey-capture']).toBe(captureId);
    const { har, text } = await harOf(captureId);
    expect(har.log.entries.map((e) => e._correlationId)).toContain(correlationId);
    expect(har.log.entries).toHaveLength(2);
    expectNoSecret(text, 'the header capture');
    const shown = await call('GET', `/rekey/v1/captures/${captureId}`, admin);
    expect(shown.json()).toMatchObject({
      target: 'header',
      status: 'recording',
      createdBy: { userPrincipalName: adminUpn },
    });

    // A user who is not an administrator, a reader, and nobody at all: ignored, the request answered as usual.
    const plain = await rekey.createUserWithToken('har.plain', canary);
    const reader = await rekey.createUserWithToken('har.reader', canary, { roles: ['Global Reader'] });
    const before = (await rekey.db.kysely.selectFrom('capture_entries').select('id').execute()).length;
    for (const token of [plain.token, reader.token, undefined, 'not-a-token']) {
      const response = await call('GET', '/v1.0/me', token, undefined, {
        'rekey-capture': 'on',
        'client-request-id': 'har-header-refused',
      });
      expect(response.headers['rekey-capture']).toBe('ignored');
    }
    // A value other than `on`, even from an administrator: ignored.
    expect(
      (await call('GET', '/v1.0/me', admin, undefined, { 'rekey-capture': 'yes' })).headers['rekey-capture'],
    ).toBe('ignored');
    const after = await rekey.db.kysely
      .selectFrom('capture_entries')
      .select(['id', 'correlation_id'])
      .execute();
    expect(after).toHaveLength(before);
    const list = await call('GET', '/rekey/v1/captures', admin);
    const headerCaptures = list.json<{ value: Json[] }>().value.filter((c) => c['target'] === 'header');
    expect(headerCaptures).toHaveLength(1);

    // At the token endpoint (no guard), an administrator's bearer token is checked by the hook itself.
    const signIn = await rekey.tokenRequest(passwordGrant(plain.userPrincipalName, canary), {
      ...bearer(admin),
      'rekey-capture': 'on',
    });
    await rekey.captures.idle();
    expect(signIn.headers['rekey-capture']).toBe(captureId);
    secrets.add(signIn.json<{ access_token: string }>().access_token);
    expectNoSecret((await harOf(captureId)).text, 'the header capture after a sign-in');
  });

  it("keeps the browser sign-in's password, CSRF token, cookies and authorization code out of the HAR", async () => {
    const user = await rekey.createUser('har.browser', canary);
    const capture = await startCapture({ userPrincipalName: user.userPrincipalName, durationMinutes: 10 });
    const browser = new TestBrowser(rekey.app);
    const page = await browser.get(authorizeUrl(pkcePair().challenge));
    expect(page.statusCode, page.body).toBe(200);
    const csrf = formField(page.body, 'csrf_token') ?? '';
    const answer = await browser.submit(page, { username: user.userPrincipalName, password: canary });
    await rekey.captures.idle();
    const code = redirectParams(answer).get('code') ?? '';
    expect(code).not.toBe('');
    const { har, text } = await harOf(capture.id);
    // The form post names the user; the page before it does not.
    expect(har.log.entries).toHaveLength(1);
    expectNoSecret(text, 'the browser sign-in capture');
    for (const value of [code, csrf, ...browser.cookies.values()]) expect(text).not.toContain(value);
    expect(text).toContain('code=[redacted]');
  });

  it('stops a capture early; keeps at most maxEntries; cuts long bodies with a marker', async () => {
    const capped = await startCapture({ correlationId: 'har-capped', durationMinutes: 5, maxEntries: 2 });
    for (let i = 0; i < 4; i += 1)
      await call('GET', '/v1.0/me', admin, undefined, { 'client-request-id': 'har-capped' });
    const counted = await call('GET', `/rekey/v1/captures/${capped.id}`, admin);
    expect(counted.json()).toMatchObject({ entryCount: 2, droppedCount: 2, maxEntries: 2 });
    expect((await harOf(capped.id)).har.log.entries).toHaveLength(2);

    // /openapi.json is far larger than the 32 KiB a body may keep.
    const big = await startCapture({ correlationId: 'har-big', durationMinutes: 5 });
    const openapi = await call('GET', '/openapi.json', undefined, undefined, {
      'client-request-id': 'har-big',
    });
    const [entry] = (await harOf(big.id)).har.log.entries;
    expect(entry?._truncated).toBe(true);
    expect(entry?.response.content.size).toBe(Buffer.byteLength(openapi.body));
    expect(entry?.response.content.text?.length).toBeLessThan(33 * 1024);
    expect(entry?.response.content.text).toMatch(/\[truncated by Rekey: \d+ more characters of \d+\]$/);

    const stopped = await call('DELETE', `/rekey/v1/captures/${big.id}`, admin);
    expect(stopped.statusCode).toBe(200);
    expect(stopped.json()).toMatchObject({ status: 'ended', entryCount: 1 });
    expect(stopped.json<Json>()['stoppedDateTime']).toBeTypeOf('string');
    await call('GET', '/openapi.json', undefined, undefined, { 'client-request-id': 'har-big' });
    expect((await harOf(big.id)).har.log.entries).toHaveLength(1);
    // Stopping again answers the capture as it is.
    const twice = await call('DELETE', `/rekey/v1/captures/${big.id}`, admin);
    expect(twice.json<Json>()['stoppedDateTime']).toBe(stopped.json<Json>()['stoppedDateTime']);
  });

  it('sees a capture another process started within its reload interval', async () => {
    // A second service over the same database stands for another `rekey serve`.
    const other = createCaptureService({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      logger: createLogger('silent'),
      publicUrl: 'http://rekey.test',
      findUser: async () => undefined,
      reloadIntervalMs: 0,
    });
    const here = createCaptureService({
      db: rekey.db,
      tenantId: rekey.tenant.id,
      clock,
      logger: createLogger('silent'),
      publicUrl: 'http://rekey.test',
      findUser: async () => undefined,
      reloadIntervalMs: 0,
    });
    const key = { userId: undefined, userPrincipalName: undefined, correlationId: 'har-other-process' };
    here.hasActiveCaptures();
    await here.idle();
    expect(here.matching(key)).toHaveLength(0);
    await other.start(systemContext('har-other'), { correlationId: 'har-other-process', durationMinutes: 1 });
    // The first check after the interval reloads in the background; the next one sees it.
    here.hasActiveCaptures();
    await here.idle();
    expect(here.matching(key)).toHaveLength(1);
  });

  it('refuses bad input and callers without the role, with catalog codes', async () => {
    const reader = await rekey.createUserWithToken('har.reader2', canary, { roles: ['Global Reader'] });
    const helpdesk = await rekey.createUserWithToken('har.helpdesk', canary, {
      roles: ['Helpdesk Administrator'],
    });
    const post = (body: Json, token = admin) => call('POST', '/rekey/v1/captures', token, body);
    expectErrorCode(await post({ durationMinutes: 10 }), 400, Codes.CaptureSelectorRequired);
    expectErrorCode(
      await post({ userPrincipalName: 'a@example.com', correlationId: 'x', durationMinutes: 10 }),
      400,
      Codes.CaptureSelectorRequired,
    );
    expectErrorCode(
      await post({ correlationId: 'x', durationMinutes: 0 }),
      400,
      Codes.RequestValidationFailed,
    );
    expectErrorCode(
      await post({ correlationId: 'x', durationMinutes: 1441 }),
      400,
      Codes.RequestValidationFailed,
    );
    expectErrorCode(await post({ correlationId: 'x' }), 400, Codes.RequestValidationFailed);
    expectErrorCode(
      await post({ correlationId: 'x', durationMinutes: 5, maxEntries: 5000 }),
      400,
      Codes.RequestValidationFailed,
    );
    expectErrorCode(
      await post({ userId: '00000000-0000-4000-8000-00000000dead', durationMinutes: 5 }),
      404,
      Codes.ResourceNotFound,
    );
    const missing = '00000000-0000-4000-8000-000000000404';
    expectErrorCode(await call('GET', `/rekey/v1/captures/${missing}`, admin), 404, Codes.CaptureNotFound);
    expectErrorCode(
      await call('GET', `/rekey/v1/captures/${missing}/har`, admin),
      404,
      Codes.CaptureNotFound,
    );
    expectErrorCode(await call('DELETE', `/rekey/v1/captures/${missing}`, admin), 404, Codes.CaptureNotFound);
    expectErrorCode(
      await call('GET', '/rekey/v1/captures/not-an-id', admin),
      400,
      Codes.RequestValidationFailed,
    );

    // A Global Reader reads captures but starts none; the help desk does neither.
    expect((await call('GET', '/rekey/v1/captures', reader.token)).statusCode).toBe(200);
    expectErrorCode(
      await post({ correlationId: 'x', durationMinutes: 5 }, reader.token),
      403,
      Codes.InsufficientPrivileges,
    );
    expectErrorCode(
      await call('GET', '/rekey/v1/captures', helpdesk.token),
      403,
      Codes.InsufficientPrivileges,
    );
    expect((await post({ correlationId: 'x', durationMinutes: 5 }, helpdesk.token)).statusCode).toBe(403);

    // At most 20 recording at once.
    const listed = await call('GET', '/rekey/v1/captures', admin);
    const recording = listed
      .json<{ value: Json[] }>()
      .value.filter((c) => c['status'] === 'recording').length;
    for (let i = recording; i < 20; i += 1)
      await startCapture({ correlationId: `har-many-${i}`, durationMinutes: 1 });
    const refused = await post({ correlationId: 'har-one-too-many', durationMinutes: 1 });
    expectErrorCode(refused, 409, Codes.CaptureLimitReached);
  });

  it('audits starting and stopping a capture', async () => {
    // The previous test filled the tenant's captures: move past their one-minute windows first.
    now = new Date(now.getTime() + 2 * 60_000);
    const started = await startCapture({ correlationId: 'har-audited', durationMinutes: 1 });
    await call('DELETE', `/rekey/v1/captures/${started.id}`, admin);
    const rows = await rekey.db.kysely
      .selectFrom('directory_audits')
      .select(['activity_display_name', 'target_resources'])
      .where('activity_display_name', 'in', ['Start HTTP capture', 'Stop HTTP capture'])
      .execute();
    const about = rows.filter((row) => row.target_resources.includes(started.id));
    expect(about.map((row) => row.activity_display_name).sort()).toEqual([
      'Start HTTP capture',
      'Stop HTTP capture',
    ]);
  });
});
