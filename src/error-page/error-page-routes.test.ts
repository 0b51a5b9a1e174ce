import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aadstsCodeOf } from '../../test/support/http-helpers.js';
import { startTestRekey, type TestRekey } from '../../test/support/rekey-harness.js';
import { getCatalogEntry, listCatalogEntries } from '../platform/errors/catalog.js';

// The page reads only the catalog, so one database is enough.
describe('GET /error', () => {
  let rekey: TestRekey;
  beforeAll(async () => {
    rekey = await startTestRekey('sqlite');
  });
  afterAll(async () => rekey?.close());

  const get = (query: string, accept?: string) =>
    rekey.app.inject({ method: 'GET', url: `/error${query}`, headers: accept ? { accept } : {} });

  it('renders HTML by default, with the remediation steps', async () => {
    const response = await get('?code=50126');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const entry = getCatalogEntry(50126);
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.body).toContain('<h1>AADSTS50126</h1>');
    expect(response.body).toContain(entry.name);
    // Each step as the page escapes it (a step may hold `<upn>`).
    for (const step of entry.remediation)
      expect(response.body).toContain(step.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`));
  });

  it.each([
    ['application/json', 'application/json'],
    ['a JSON-only list', 'application/json, */*;q=0.1'],
  ])('answers JSON for Accept: %s', async (_name, accept) => {
    const response = await get('?code=120008', accept);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const entry = getCatalogEntry(120008);
    expect(response.json()).toEqual({
      code: 120008,
      aadsts: 'AADSTS120008',
      name: 'PasswordChangeAsyncJobStateTerminated',
      message: entry.message,
      category: entry.category,
      httpStatus: entry.httpStatus,
      retryable: entry.retryable,
      remediation: entry.remediation,
    });
  });

  it('prefers HTML when a browser accepts both', async () => {
    const response = await get('?code=50126', 'text/html,application/json;q=0.9');
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  it('accepts the AADSTS prefix, and Rekey codes without one', async () => {
    const prefixed = await get('?code=AADSTS50126', 'application/json');
    expect(prefixed.json().code).toBe(50126);
    const own = await get('?code=7700004', 'application/json');
    expect(own.json()).toMatchObject({ code: 7700004, aadsts: null, name: 'PayloadTooLarge' });
    const html = await get('?code=7700004');
    expect(html.body).toContain('<h1>7700004</h1>');
  });

  it('explains every code in the catalog', async () => {
    for (const entry of listCatalogEntries()) {
      const response = await get(`?code=${entry.code}`, 'application/json');
      expect(response.statusCode).toBe(200);
      expect(response.json().name).toBe(entry.name);
    }
  });

  it('answers an unknown code with 404 7700008 in Graph’s envelope', async () => {
    for (const accept of [undefined, 'application/json']) {
      const response = await get('?code=AADSTS99999', accept);
      expect(response.statusCode).toBe(404);
      const body = response.json();
      expect(body.error.code).toBe('Request_ResourceNotFound');
      expect(body.error.innerError.aadstsCode).toBe(7700008);
      expect(body.error.message).toContain('AADSTS99999');
    }
  });

  it.each([
    ['no code', ''],
    ['letters', '?code=abc'],
    ['markup', '?code=%3Cscript%3E'],
    ['too many digits', '?code=1234567890'],
  ])('answers %s with 400 7700001', async (_name, query) => {
    const response = await get(query);
    expect(response.statusCode).toBe(400);
    expect(aadstsCodeOf(response)).toBe(7700001);
    expect(response.body).not.toContain('<script>');
  });
});
