import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordMethodId } from '../../src/passwords/password-routes.js';
import { systemContext } from '../../src/platform/request-context.js';
import { expectAccessible, launchBrowser, saveScreenshot, watchPageProblems } from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import { bearer } from '../support/http-helpers.js';
import { adminPassword, adminUpn, startTestRekey, type TestRekey } from '../support/rekey-harness.js';

/*
 * The administrators' settings, log, operations, connectors, diagnose and health pages in Chromium
 * against a real Rekey on SQLite: each shows what the server holds (sign-ins and refusals made for
 * real, a reset run by the worker, a connector whose directory does not answer), the charts render
 * under the portal's CSP with no violation reported, axe finds nothing serious, and diagnose names
 * the root cause of a password the policy refused. Screenshots go to test-artifacts/screenshots.
 */

const stepTimeoutMs = 20_000;
const noraPassword = 'Copper-Lantern-73-Qw!';

// Each test makes several browser steps on a shared, loaded machine; a hung step fails on its own.
describe('the portal admin pages in Chromium', { timeout: 120_000 }, () => {
  let rekey: TestRekey;
  let origin: string;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let refusedCorrelationId: string;
  let resetOperationId: string;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    rekey = await startTestRekey('sqlite', { env: { REKEY_PUBLIC_URL: origin } });
    await rekey.app.listen({ host: '127.0.0.1', port });
    rekey.worker.start();
    const admin = await rekey.adminToken();

    // Refused by policy: Nora's new password holds a custom banned term.
    await rekey.settings.updatePasswordProtection(systemContext('test-setup'), {
      customBannedPasswords: ['zebrafish'],
    });
    const nora = await rekey.createUserWithToken('nora', noraPassword);
    refusedCorrelationId = '5d1c7a9e-2b4f-4c8d-9e1a-7f3b6c2d8e41';
    const refused = await rekey.app.inject({
      method: 'POST',
      url: '/v1.0/me/changePassword',
      headers: { ...bearer(nora.token), 'client-request-id': refusedCorrelationId },
      payload: { currentPassword: noraPassword, newPassword: 'Zebrafish1!' },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    // A reset the worker runs to its end, after Omar's wrong password and a right one.
    const omar = await rekey.createUser('omar', 'Granite-Harbor-28-Lp!');
    expect(await rekey.signInCode(omar.userPrincipalName, 'Not-His-Password-1!')).not.toBe(0);
    expect(await rekey.signInCode(omar.userPrincipalName, 'Granite-Harbor-28-Lp!')).toBe(0);
    const reset = await rekey.app.inject({
      method: 'POST',
      url: `/v1.0/users/${omar.id}/authentication/methods/${passwordMethodId}/resetPassword`,
      headers: bearer(admin),
      payload: { newPassword: 'Quartz-Ribbon-55-Mn!' },
    });
    expect(reset.statusCode, reset.body).toBe(202);
    resetOperationId = String(reset.headers['location']).split('/').pop() ?? '';
    await rekey.operations.runOperation(resetOperationId);
    expect((await rekey.operations.getOperationWithHistory(resetOperationId))?.operation.state).toBe(
      'succeeded',
    );

    // A connector whose directory is not listening: its test fails at the connect step, for real.
    const closedPort = await freePort();
    const connector = await rekey.app.inject({
      method: 'POST',
      url: '/rekey/v1/connectors',
      headers: bearer(admin),
      payload: {
        displayName: 'Head office LDAP',
        flavor: 'openldap',
        url: `ldap://127.0.0.1:${closedPort}`,
        allowInsecure: true,
        bindDn: 'cn=rekey,dc=example,dc=com',
        bindPassword: 'Service-Account-Pass-1!',
        baseDn: 'ou=people,dc=example,dc=com',
        connectTimeoutMs: 2000,
      },
    });
    expect(connector.statusCode, connector.body).toBe(201);

    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(stepTimeoutMs);
    problems = watchPageProblems(page);
    // Tokens live in memory: the test moves between pages by the navigation, as a person does.
    await page.goto(`${origin}/portal`);
    await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
    await page.locator('#username').fill(adminUpn);
    await page.locator('#password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${origin}/portal/users`);
  });
  afterAll(async () => {
    await browser?.close();
    await rekey?.close();
  });

  /**
   * No CSP violation and no script error so far. The browser also logs each 4xx answer, which the
   * tests provoke on purpose (a bad setting, a diagnosis without a selector): those are not problems.
   */
  function expectNoProblems(label: string): void {
    const refusals = /Failed to load resource: the server responded with a status of 4\d\d/;
    expect(problems.filter((problem) => !refusals.test(problem)).join('\n'), label).toBe('');
  }

  it('sign-ins: rows from the log, the filters, the detail panel and the charts, under the CSP', async () => {
    await page.getByRole('link', { name: 'Sign-ins' }).click();
    await expect.poll(() => page.getByTestId('sign-ins-table').getByText('omar@example.com').count()).toBe(2);
    await page.getByLabel('User (starts with)').fill('omar');
    await page.getByLabel('Status').selectOption('failure');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/user=omar&status=failure/);
    const rows = page.getByTestId('sign-ins-table').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().getByRole('button').click();
    const detail = page.getByTestId('sign-in-detail');
    await detail.waitFor();
    expect(await detail.getByTestId('code-link').textContent()).toMatch(/^\d+$/);
    const correlationId = (await detail.getByTestId('correlation-id').textContent()) ?? '';
    expect(correlationId).not.toBe('');
    // The charts (recharts, loaded on their own) draw their SVG.
    await page.getByTestId('sign-in-charts').locator('svg.recharts-surface').first().waitFor();
    expect(
      await page.getByTestId('sign-in-charts').locator('.recharts-bar-rectangle').count(),
    ).toBeGreaterThan(0);
    await expectAccessible(page, 'sign-ins');
    await saveScreenshot(page, 'portal-sign-ins');
    // The detail links to diagnose, which runs at once for that request.
    await detail.getByTestId('diagnose-link').click();
    await page.waitForURL(/\/portal\/diagnose\?correlationId=/);
    await page.getByRole('heading', { name: 'Diagnose and solve problems' }).waitFor();
    expect(await page.getByLabel('Correlation ID').inputValue()).toBe(correlationId);
    await expect.poll(() => page.getByTestId('verdict-code').textContent()).toMatch(/^\d+$/);
    expectNoProblems('sign-ins');
  });

  it('diagnose renders a verdict for a user refused by policy, verdict first, then evidence, then the fix', async () => {
    await page.getByLabel('User', { exact: true }).fill('nora@example.com');
    await page.getByLabel('Correlation ID').fill('');
    await page.getByLabel('Since').fill('1h');
    await page.getByRole('button', { name: 'Diagnose' }).click();
    await page.waitForURL(/userPrincipalName=nora%40example.com&since=1h/);
    // The report names what it answers: the one before it (from the sign-ins page) is not taken for it.
    await expect
      .poll(() => page.getByTestId('diagnosed-selectors').textContent())
      .toMatch(/^Diagnosed: user nora@example\.com, since \d{4}-/);
    await expect.poll(() => page.getByTestId('verdict-code').textContent()).toBe('120018');
    const verdict = page.getByTestId('verdict');
    await verdict.waitFor();
    expect(await page.getByTestId('verdict-code').textContent()).toBe('120018');
    expect(await verdict.getByRole('link').getAttribute('href')).toBe('/error?code=120018');
    const report = page.getByTestId('diagnose-report');
    const headings = await report.getByRole('heading', { level: 2 }).allTextContents();
    expect(headings.slice(0, 3)).toEqual([
      expect.stringMatching(/^Root cause: 120018/),
      'Evidence',
      'The fix',
    ]);
    expect(await page.getByTestId('fix').locator('li').count()).toBeGreaterThan(0);
    await expectAccessible(page, 'diagnose');
    await saveScreenshot(page, 'diagnose');
    // The same diagnosis from the request's correlation ID, typed into the form.
    await page.getByLabel('User', { exact: true }).fill('');
    await page.getByLabel('Correlation ID').fill(refusedCorrelationId);
    await page.getByRole('button', { name: 'Diagnose' }).click();
    await page.waitForURL(new RegExp(`correlationId=${refusedCorrelationId}`));
    // Only once this report is in may the form change again: the address's own run has started.
    await expect
      .poll(() => page.getByTestId('diagnosed-selectors').textContent())
      .toContain(`correlation ID ${refusedCorrelationId}`);
    await expect.poll(() => page.getByTestId('verdict-code').textContent()).toBe('120018');
    // A request without a selector: the server's refusal, with its code.
    await page.getByLabel('Correlation ID').fill('');
    await page.getByLabel('Since').fill('');
    await page.getByRole('button', { name: 'Diagnose' }).click();
    await expect.poll(() => page.getByTestId('error-code').textContent()).toBe('7700001');
    expectNoProblems('diagnose');
  });

  it('password protection: shows the custom list, previews an added term, saves it', async () => {
    await page.getByRole('link', { name: 'Password protection' }).click();
    const terms = page.getByLabel('Custom banned passwords (one term a line)');
    await expect.poll(() => terms.inputValue()).toBe('zebrafish');
    await terms.fill('zebrafish\nquokka');
    await page.getByRole('button', { name: 'Preview impact' }).click();
    await expect.poll(() => page.getByTestId('terms-added').textContent()).toContain('quokka');
    expect((await rekey.settings.getPasswordProtection()).customBannedPasswords).toEqual(['zebrafish']);
    await expectAccessible(page, 'password protection');
    await saveScreenshot(page, 'portal-password-protection');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').getByText('Saved.').waitFor();
    expect((await rekey.settings.getPasswordProtection()).customBannedPasswords).toEqual([
      'zebrafish',
      'quokka',
    ]);
    expectNoProblems('password protection');
  });

  it("smart lockout and password reset: a bad value is refused with the server's code, nothing is saved", async () => {
    await page.getByRole('link', { name: 'Smart lockout' }).click();
    await page.getByLabel('Lockout threshold').fill('0');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByTestId('error-code').textContent()).toBe('7700001');
    expect(await page.getByRole('alert').textContent()).toContain('lockoutThreshold');
    expect(await page.getByRole('alert').getByRole('link').getAttribute('href')).toBe('/error?code=7700001');
    expect((await rekey.settings.getSmartLockout()).lockoutThreshold).not.toBe(0);
    await expectAccessible(page, 'smart lockout');

    await page.getByRole('link', { name: 'Password reset' }).click();
    await page.getByLabel('Passwords expire after (days)').fill('90');
    await page.getByRole('button', { name: 'Preview impact' }).click();
    await page.getByTestId('settings-preview').getByText('maximumAgeDays').waitFor();
    await expectAccessible(page, 'password reset');
    await saveScreenshot(page, 'portal-password-reset');
    expect((await rekey.settings.getPasswordPolicy()).maximumAgeDays).toBeNull();
    expectNoProblems('settings');
  });

  it('operations: the reset in the list, its state timeline, the outcomes chart', async () => {
    await page.getByRole('link', { name: 'Operations' }).click();
    const rows = page.getByTestId('operations-table').locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    await page.getByLabel('State').selectOption('succeeded');
    await page.getByLabel('Kind').selectOption('adminReset');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    // The user by name, in the row and in the detail, which links to the user's page.
    expect(await rows.first().textContent()).toContain('omar@example.com');
    await rows.first().getByRole('button').click();
    await page.getByRole('link', { name: 'omar@example.com' }).waitFor();
    const timeline = page.getByTestId('operation-timeline');
    await timeline.waitFor();
    expect(await timeline.locator('li').count()).toBeGreaterThan(1);
    expect(await timeline.textContent()).toContain('succeeded');
    await page.getByTestId('operation-chart').locator('.recharts-bar-rectangle').first().waitFor();
    await expectAccessible(page, 'operations');
    await saveScreenshot(page, 'portal-operations');
    expectNoProblems('operations');
  });

  it('connectors: the detail, a test reporting each step with its latency, health and the latency chart', async () => {
    await page.getByRole('link', { name: 'Connectors' }).click();
    await page.getByTestId('connectors-table').getByRole('button', { name: 'Head office LDAP' }).click();
    await page.getByRole('button', { name: 'Test the connection' }).click();
    const report = page.getByTestId('test-report');
    await report.waitFor();
    expect(await report.textContent()).toContain('The connection test failed.');
    const connect = report.locator('tbody tr').first();
    expect(await connect.locator('td').first().textContent()).toBe('connect');
    expect(await connect.locator('td').nth(2).textContent()).toMatch(/^\d+ ms$/);
    expect(await connect.getByTestId('code-link').textContent()).toMatch(/^\d+$/);
    await expect.poll(() => page.getByTestId('connector-health').textContent()).toMatch(/Calls\s*[1-9]/);
    await page.getByTestId('latency-chart').locator('svg.recharts-surface').first().waitFor();
    await expectAccessible(page, 'connectors');
    await saveScreenshot(page, 'portal-connectors');
    expectNoProblems('connectors');
  });

  it('connectors: adds one through the form (a bad one refused with the code), syncs it, removes it', async () => {
    await page.getByRole('link', { name: 'Connectors' }).click();
    await page.getByRole('button', { name: 'New connector' }).click();
    const form = page.getByTestId('new-connector');
    await form.getByLabel('Name', { exact: true }).fill('Branch office');
    await form.getByLabel('URL', { exact: true }).fill('http://127.0.0.1');
    await form.getByLabel('Bind DN', { exact: true }).fill('cn=rekey,dc=example,dc=com');
    await form.getByLabel('Bind password', { exact: true }).fill('Branch-Service-Pass-1!');
    await form.getByLabel('Base DN', { exact: true }).fill('ou=people,dc=example,dc=com');
    await form.getByRole('button', { name: 'Add connector' }).click();
    await expect
      .poll(() => form.getByTestId('error-code').textContent(), { timeout: 20_000 })
      .toBe('7700001');
    const closedPort = await freePort();
    await form.getByLabel('URL', { exact: true }).fill(`ldap://127.0.0.1:${closedPort}`);
    await form.getByLabel('StartTLS', { exact: true }).uncheck();
    await form.getByRole('checkbox', { name: /Allow an unencrypted connection/ }).check();
    await expectAccessible(page, 'new connector');
    await saveScreenshot(page, 'portal-new-connector');
    await form.getByRole('button', { name: 'Add connector' }).click();
    const detail = page.getByTestId('connector-detail');
    await expect
      .poll(() => detail.getByRole('heading').first().textContent(), { timeout: 20_000 })
      .toBe('Branch office');
    const created = (await rekey.connectors.list()).find((c) => c.settings.displayName === 'Branch office');
    expect(created?.settings.url).toBe(`ldap://127.0.0.1:${closedPort}`);
    // Its directory does not answer: the sync fails, saying so with its code.
    await detail.getByRole('button', { name: 'Sync now' }).click();
    const synced = page.getByTestId('sync-result');
    await synced.waitFor();
    expect(await synced.textContent()).toContain('failure');
    expect(await synced.getByTestId('code-link').textContent()).toMatch(/^\d+$/);
    await detail.getByRole('button', { name: 'Remove connector' }).click();
    await detail.getByRole('button', { name: 'Confirm removal' }).click();
    const table = page.getByTestId('connectors-table');
    await expect
      .poll(() => table.getByRole('button', { name: 'Branch office' }).count(), { timeout: 20_000 })
      .toBe(0);
    expect((await rekey.connectors.list()).some((c) => c.settings.displayName === 'Branch office')).toBe(
      false,
    );
    expectNoProblems('new connector');
  });

  it("captures: starts one for a user, counts that user's exchanges, downloads the HAR, stops it", async () => {
    await page.getByRole('link', { name: 'Captures' }).click();
    await page.getByLabel('Record').selectOption('userPrincipalName');
    await page.getByLabel('User principal name').fill('omar@example.com');
    await page.getByLabel('Minutes').fill('15');
    await page.getByRole('button', { name: 'Start capture' }).click();
    const row = page
      .getByTestId('captures-table')
      .locator('tbody tr')
      .filter({ hasText: 'omar@example.com' });
    await row.waitFor();
    expect(await row.textContent()).toContain('recording');
    // Omar's sign-in with a wrong password is his exchange; the list counts it within its refresh.
    const wrongPassword = 'Not-His-Password-2!';
    expect(await rekey.signInCode('omar@example.com', wrongPassword)).not.toBe(0);
    await rekey.captures.idle();
    await expect.poll(() => row.getByTestId('entry-count').textContent(), { timeout: 25_000 }).toBe('1');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: /^Download HAR/ }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^rekey-capture-[0-9a-f-]+\.har$/);
    const har = readFileSync(await download.path(), 'utf8');
    const entries = (JSON.parse(har) as { log: { entries: Array<{ response: { status: number } }> } }).log
      .entries;
    expect(entries.map((entry) => entry.response.status)).toEqual([400]);
    expect(har).not.toContain(wrongPassword);
    await expectAccessible(page, 'captures');
    await saveScreenshot(page, 'portal-captures');
    await row.getByRole('button', { name: /^Stop the capture/ }).click();
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain('ended');
    expectNoProblems('captures');
  });

  it('audit logs and service health show what the server holds', async () => {
    await page.getByRole('link', { name: 'Audit logs' }).click();
    const rows = page.getByTestId('audits-table').locator('tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    await rows.first().getByRole('button').click();
    await page.getByTestId('audit-detail').waitFor();
    await expectAccessible(page, 'audit logs');
    await saveScreenshot(page, 'portal-audit-logs');

    await page.getByRole('link', { name: 'Service health' }).click();
    const components = page.getByTestId('components-table').locator('tbody tr');
    await expect.poll(() => components.count()).toBeGreaterThan(0);
    await expectAccessible(page, 'service health');
    await saveScreenshot(page, 'portal-service-health');
    expectNoProblems('audit logs and service health');
  });
});
