import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Codes } from '../../src/platform/errors/catalog.js';
import { systemContext } from '../../src/platform/request-context.js';
import { expectAccessible, launchBrowser, saveScreenshot, watchPageProblems } from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import { adminPassword, adminUpn, startTestRekey, type TestRekey } from '../support/rekey-harness.js';

/*
 * The portal and My account in a real browser: a real Rekey on SQLite listening on a port, Debian's
 * Chromium, the real authorization-code + PKCE sign-in through Rekey's own sign-in page. Each page
 * visited is checked with axe-core and saved as a screenshot (test-artifacts/screenshots).
 */

/** Long enough for a sign-in round trip and a reset watched to its end on a loaded machine. */
const stepTimeoutMs = 20_000;

// A browser step waits on a shared, loaded machine; each test gets room for all of its steps at
// once near their bound (the longest test has some fifteen): a hung step still fails on its own.
describe('the portal in Chromium', { timeout: 300_000 }, () => {
  let rekey: TestRekey;
  let origin: string;
  let browser: Browser;
  let admin: BrowserContext;
  let adminPage: Page;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    rekey = await startTestRekey('sqlite', { env: { REKEY_PUBLIC_URL: origin } });
    await rekey.app.listen({ host: '127.0.0.1', port });
    rekey.worker.start();
    // A custom banned word, so the refused password below is refused by Password Protection alone.
    await rekey.settings.updatePasswordProtection(systemContext('test-setup'), {
      customBannedPasswords: ['zorbex'],
    });
    browser = await launchBrowser();
    admin = await browser.newContext();
    adminPage = await admin.newPage();
    adminPage.setDefaultTimeout(stepTimeoutMs);
  });
  afterAll(async () => {
    await browser?.close();
    await rekey?.close();
  });

  /** Fills Rekey's sign-in page (the browser is on it) and submits. */
  async function submitCredentials(page: Page, upn: string, password: string): Promise<void> {
    await page.locator('#username').fill(upn);
    await page.locator('#password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('signs an administrator in with PKCE and shows the users page, accessible', async () => {
    const problems = watchPageProblems(adminPage);
    await adminPage.goto(`${origin}/portal/users`);
    // Sent to Rekey's authorize endpoint with the portal client, S256 and a state.
    await adminPage.waitForURL(/\/oauth2\/v2\.0\/authorize/);
    const authorize = new URL(adminPage.url());
    expect(authorize.searchParams.get('client_id')).toBe('7c3e9a14-5d2b-4f86-a1e0-3b9d8c6f2e45');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${origin}/portal/callback`);
    await submitCredentials(adminPage, adminUpn, adminPassword);
    await adminPage.waitForURL(`${origin}/portal/users`);
    await expect
      .poll(() => adminPage.getByTestId('users-table').getByText(adminUpn).count(), {
        timeout: stepTimeoutMs,
      })
      .toBe(1);
    // Tokens are kept in memory only.
    const stored = await adminPage.evaluate('JSON.stringify({ ...localStorage, ...sessionStorage })');
    expect(stored).toBe('{}');
    await expectAccessible(adminPage, 'users page');
    await saveScreenshot(adminPage, 'portal-users');
    expect(problems.filter((p) => p.includes('Content Security Policy'))).toEqual([]);
  });

  it('creates a user, resets the password and watches the operation succeed', async () => {
    await adminPage.getByRole('button', { name: 'New user' }).click();
    await adminPage.getByLabel('Display name').fill('Priya Raman');
    await adminPage.getByLabel('User principal name').fill('priya@example.com');
    await adminPage.getByLabel('Initial password').fill('Copper-Meadow-41-Xq!');
    await adminPage.getByRole('button', { name: 'Create user' }).click();
    await adminPage.waitForURL(/\/portal\/users\/[0-9a-f-]{36}$/);
    await adminPage.getByRole('heading', { name: 'Priya Raman' }).waitFor();
    const created = await rekey.users.getUser('priya@example.com');
    expect(adminPage.url()).toBe(`${origin}/portal/users/${created.id}`);

    await adminPage.getByRole('button', { name: 'Reset password' }).click();
    await expect
      .poll(() => adminPage.getByTestId('operation-status').textContent(), { timeout: stepTimeoutMs })
      .toBe('succeeded');
    const generated = (await adminPage.getByTestId('generated-password').textContent()) ?? '';
    expect(generated.length).toBeGreaterThan(8);
    // The reset really happened: the generated password signs in.
    expect(await rekey.signInCode('priya@example.com', generated)).not.toBe(Codes.InvalidUserNameOrPassword);
    await expectAccessible(adminPage, 'user detail page');
    await saveScreenshot(adminPage, 'portal-user-detail');
  });

  it('shows a locked user as locked and unlocks them', async () => {
    const locked = await rekey.createUser('lena', 'Violet-Summit-52-Rk!');
    // Distinct wrong passwords: smart lockout does not count the same wrong password twice.
    for (let attempt = 0; attempt < 12; attempt += 1)
      await rekey.signInCode(locked.userPrincipalName, `wrong-${attempt}`);
    expect((await rekey.lockout.getLockout(locked.id)).locked).toBe(true);

    await adminPage.goto(`${origin}/portal/users/${locked.id}`);
    // A reload: the app signs in again silently and comes back to this user, not the list.
    await adminPage.getByRole('heading', { name: 'Test lena' }).waitFor();
    await expect
      .poll(() => adminPage.getByTestId('lock-state').textContent(), { timeout: stepTimeoutMs })
      .toMatch(/^Locked until/);
    await saveScreenshot(adminPage, 'portal-user-locked');
    await adminPage.getByRole('button', { name: 'Unlock' }).click();
    await expect
      .poll(() => adminPage.getByTestId('lock-state').textContent(), { timeout: stepTimeoutMs })
      .toBe('Not locked');
    expect((await rekey.lockout.getLockout(locked.id)).locked).toBe(false);
  });

  it('walks every portal page with axe (the planned pages too)', async () => {
    for (const path of [
      'password-reset',
      'password-protection',
      'smart-lockout',
      'sign-ins',
      'audit-logs',
      'operations',
      'connectors',
      'diagnose',
      'service-health',
    ]) {
      await adminPage
        .getByRole('link', { name: new RegExp(`^${path.replace(/-/g, '.')}`, 'i') })
        .first()
        .click();
      await adminPage.waitForURL(`${origin}/portal/${path}`);
      await adminPage.getByRole('heading', { level: 1 }).waitFor();
      await expectAccessible(adminPage, `/portal/${path}`);
    }
  });

  it('signs out at the logout endpoint: the next visit shows the sign-in page again', async () => {
    await adminPage.getByRole('button', { name: 'Sign out' }).click();
    await adminPage.waitForURL(`${origin}/portal/callback?state=signed-out`);
    await adminPage.getByRole('heading', { name: 'Signed out' }).waitFor();
    await expectAccessible(adminPage, 'signed out');
    await adminPage.goto(`${origin}/portal/users`);
    await adminPage.waitForURL(/\/oauth2\/v2\.0\/authorize/);
    await adminPage.locator('#password').waitFor();
  });

  it('makes a user change an expired password at sign-in, refusing a banned one with its code', async () => {
    await rekey.createUser('omar', 'Copper-Meadow-41-Xq!', { forceChangePasswordNextSignIn: true });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(stepTimeoutMs);
      await page.goto(`${origin}/myaccount`);
      await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
      await submitCredentials(page, 'omar@example.com', 'Copper-Meadow-41-Xq!');
      await page.getByRole('heading', { name: 'Change your password' }).waitFor();
      await expectAccessible(page, 'forced change step');

      await page.locator('#new_password').fill('Zorbex2024!');
      await page.locator('#confirm_password').fill('Zorbex2024!');
      await page.getByRole('button', { name: /Change password/ }).click();
      const refusal = page.getByRole('alert');
      await refusal.waitFor();
      expect(await refusal.textContent()).toContain(
        String(Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy),
      );
      expect(await refusal.getByRole('link').getAttribute('href')).toBe(
        `/error?code=${Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy}`,
      );
      await saveScreenshot(page, 'sign-in-forced-change-refused');

      await page.locator('#new_password').fill('Tundra-Harbour-Quill-88!');
      await page.locator('#confirm_password').fill('Tundra-Harbour-Quill-88!');
      await page.getByRole('button', { name: /Change password/ }).click();
      await page.waitForURL(`${origin}/myaccount`);
      await page.getByRole('heading', { name: 'My account' }).waitFor();
      expect(await rekey.signInCode('omar@example.com', 'Tundra-Harbour-Quill-88!')).toBe(0);
      expect(await rekey.signInCode('omar@example.com', 'Copper-Meadow-41-Xq!')).not.toBe(0);

      // My account: the policy engine's verdict as the user types, with the code and its link.
      await page.getByLabel('New password', { exact: true }).fill('Zorbex2025!');
      const feedback = page.getByTestId('policy-feedback');
      await expect.poll(() => feedback.textContent(), { timeout: stepTimeoutMs }).toContain('would refuse');
      expect(await feedback.textContent()).toContain(
        String(Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy),
      );
      await page.getByLabel('New password', { exact: true }).fill('Lagoon-Figure-Parade-63!');
      await expect
        .poll(() => feedback.textContent(), { timeout: stepTimeoutMs })
        .toContain('Rekey accepts this password');
      // The user's own sign-ins, the one just made among them.
      await page.getByRole('heading', { name: 'Your recent sign-ins' }).waitFor();
      await expect
        .poll(() => page.locator('table tbody tr').count(), { timeout: stepTimeoutMs })
        .toBeGreaterThan(0);
      await expectAccessible(page, 'my account');
      await saveScreenshot(page, 'myaccount');

      // Changing it in My account: the server's refusal, exactly, with its code and link.
      await page.getByLabel('Current password').fill('Tundra-Harbour-Quill-88!');
      await page.getByLabel('New password', { exact: true }).fill('Zorbex2025!');
      await page.getByLabel('Confirm new password').fill('Zorbex2025!');
      await page.getByRole('button', { name: 'Change password' }).click();
      const refused = page.getByRole('alert');
      await refused.waitFor();
      expect(await refused.getByTestId('error-code').textContent()).toBe(
        String(Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy),
      );
      expect(await refused.getByRole('link').getAttribute('href')).toBe(
        `/error?code=${Codes.PasswordChangePasswordDoesnotComplyFuzzyPolicy}`,
      );
      await saveScreenshot(page, 'myaccount-change-refused');
      await page.getByLabel('New password', { exact: true }).fill('Lagoon-Figure-Parade-63!');
      await page.getByLabel('Confirm new password').fill('Lagoon-Figure-Parade-63!');
      await page.getByRole('button', { name: 'Change password' }).click();
      // The page stays to say so, though the change ended its session (a request still in flight
      // answered 401 then used to take it away), and signs in again when the user asks.
      await page.getByText('Your password was changed.').waitFor();
      expect(await rekey.signInCode('omar@example.com', 'Lagoon-Figure-Parade-63!')).toBe(0);
      expect(await rekey.signInCode('omar@example.com', 'Tundra-Harbour-Quill-88!')).not.toBe(0);
      await page.getByRole('button', { name: 'Sign in again' }).click();
      await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
      await submitCredentials(page, 'omar@example.com', 'Lagoon-Figure-Parade-63!');
      await page.getByRole('heading', { name: 'My account' }).waitFor();
    } finally {
      await context.close();
    }
  });
});
