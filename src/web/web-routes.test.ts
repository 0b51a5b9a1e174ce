import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { webDist } from '../../test/support/web-build.js';

// The global setup builds dist/webapp (test/support/web-build.ts); these tests serve that build.

const expectedCsp =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';" +
  "frame-ancestors 'none';base-uri 'none';form-action 'self';object-src 'none'";

describe('the web app', () => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite');
  });
  afterAll(async () => rekey?.close());

  it.each([
    '/portal',
    '/portal/users',
    '/portal/users/8c1d2e3f-0000-4000-8000-000000000001',
    '/myaccount',
    '/portal/callback?code=x&state=y',
  ])('answers index.html with strict security headers at %s', async (url) => {
    const response = await rekey.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('<div id="root"></div>');
    expect(response.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(response.body).not.toContain('style=');
    expect(response.headers['content-security-policy']).toBe(expectedCsp);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['referrer-policy']).toBe('same-origin');
    expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(response.headers['strict-transport-security']).toBeUndefined();
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('serves the hashed assets for a year, and one page in its own chunk', async () => {
    const assets = readdirSync(path.join(webDist, 'assets'));
    const entry = assets.find((name) => /^index-.*\.js$/.test(name));
    expect(assets.some((name) => /^users-page-.*\.js$/.test(name))).toBe(true);
    const response = await rekey.app.inject({ method: 'GET', url: `/assets/${entry}` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends the gzip copy the build wrote of a script to a browser that accepts gzip, and the plain file otherwise', async () => {
    const entry = readdirSync(path.join(webDist, 'assets')).find((name) => /^index-.*\.js$/.test(name));
    const plain = readFileSync(path.join(webDist, 'assets', `${entry}`));
    const zipped = await rekey.app.inject({
      method: 'GET',
      url: `/assets/${entry}`,
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(zipped.statusCode).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(plain.length / 2);
    expect(gunzipSync(zipped.rawPayload).equals(plain)).toBe(true);
    const identity = await rekey.app.inject({ method: 'GET', url: `/assets/${entry}` });
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.rawPayload.equals(plain)).toBe(true);
  });

  it('answers a missing asset with a 404 and never serves a file outside dist/webapp', async () => {
    expect((await rekey.app.inject({ method: 'GET', url: '/assets/missing-0000.js' })).statusCode).toBe(404);
    const outside = await rekey.app.inject({ method: 'GET', url: '/assets/..%2F..%2Fpackage.json' });
    expect(outside.statusCode).not.toBe(200);
    expect(outside.body).not.toContain('"name": "rekey"');
  });

  it('leaves the API alone: JSON answers carry no page CSP', async () => {
    const response = await rekey.app.inject({ method: 'GET', url: '/healthz' });
    expect(response.headers['content-security-policy']).toBeUndefined();
  });
});

describe('the web app when it was not built', () => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite', { webRoot: path.join(webDist, 'no-such-build') });
  });
  afterAll(async () => rekey?.close());

  it.each(['/portal', '/myaccount/x', '/assets/index.js'])(
    'answers %s with the page of 7701600 naming npm run build',
    async (url) => {
      const response = await rekey.app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toContain('7701600');
      expect(response.body).toContain('npm run build');
    },
  );
});
