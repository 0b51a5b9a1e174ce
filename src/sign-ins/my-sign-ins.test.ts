import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../../test/support/databases.js';
import { bearer } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';

// `GET /rekey/v1/me/signIns`: the signed-in user's own sign-ins, for My account.

interface SignInPage {
  '@odata.nextLink'?: string;
  value: { userId: string | null; userPrincipalName: string; status: { errorCode: number } }[];
}

describe.each(dialects)('my own sign-ins on %s', (dialect) => {
  let rekey: TestRekey;
  let ada: { id: string; userPrincipalName: string; token: string };
  let ben: { id: string; userPrincipalName: string; token: string };
  beforeAll(async () => {
    rekey = await startTestRekey(dialect);
    ada = await rekey.createUserWithToken('ada', 'Copper-Meadow-41-Xq!');
    ben = await rekey.createUserWithToken('ben', 'Violet-Summit-52-Rk!');
    await rekey.signInCode(ada.userPrincipalName, 'wrong password');
    await rekey.signIn(ada.userPrincipalName, 'Copper-Meadow-41-Xq!');
    await rekey.signIn(ben.userPrincipalName, 'Violet-Summit-52-Rk!');
  });
  afterAll(async () => rekey?.close());

  const mine = (token: string, query = '') =>
    rekey.app.inject({ method: 'GET', url: `/rekey/v1/me/signIns${query}`, headers: bearer(token) });

  it('lists only the caller own sign-ins, failures included, newest first', async () => {
    const response = await mine(ada.token);
    expect(response.statusCode).toBe(200);
    const page = response.json<SignInPage>();
    expect(page.value.length).toBe(3);
    expect(page.value.every((row) => row.userId === ada.id)).toBe(true);
    expect(page.value.some((row) => row.status.errorCode !== 0)).toBe(true);
  });

  it('keeps a $filter naming another user inside the caller own rows', async () => {
    const page = (
      await mine(ada.token, `?$filter=${encodeURIComponent(`userId eq ${ben.id}`)}`)
    ).json<SignInPage>();
    expect(page.value).toEqual([]);
    const orFilter = encodeURIComponent(`userId eq ${ben.id} or userId eq ${ada.id}`);
    const widened = (await mine(ada.token, `?$filter=${orFilter}`)).json<SignInPage>();
    expect(widened.value.every((row) => row.userId === ada.id)).toBe(true);
  });

  it('pages with $top and @odata.nextLink', async () => {
    const first = (await mine(ada.token, '?$top=2')).json<SignInPage>();
    expect(first.value.length).toBe(2);
    const next = new URL(first['@odata.nextLink'] ?? 'http://missing');
    const second = await rekey.app.inject({
      method: 'GET',
      url: `${next.pathname}${next.search}`,
      headers: bearer(ada.token),
    });
    expect(second.json<SignInPage>().value.length).toBe(1);
  });

  it('needs a signed-in caller', async () => {
    expect((await rekey.app.inject({ method: 'GET', url: '/rekey/v1/me/signIns' })).statusCode).toBe(401);
  });
});
